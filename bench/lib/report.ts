/**
 * Turns a BenchResult into the Markdown section appended to the history
 * (bench/results/HISTORY.md) and the rows of the chart, and saves a run.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { Stats } from "./load.ts";
import { renderChart, type ChartRow } from "./chart.ts";
import { BENCH_DIR, ROOT } from "./context.ts";
import { TARGET_DESCRIPTIONS, type BenchResult, type RunRecord, type ScenarioName, type TargetName } from "./types.ts";

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number) => (Number.isNaN(n) ? "–" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : "–");

export interface Row {
  scenario: ScenarioName;
  target: TargetName;
  phase: "all" | "winners" | "sold out";
  stats: Stats;
}

/** The measured rows of a run: a drop on a service target has a winners and a sold-out phase besides the whole run. */
export function rowsOf(r: RunRecord): Row[] {
  if (r.status !== "ok" || !r.load) return [];
  const rows: Row[] = [];
  const p = r.load.phases;
  if (r.scenario === "drop" && r.target !== "bare" && p) {
    rows.push({ scenario: r.scenario, target: r.target, phase: "winners", stats: p.winners });
    if (p.sold_out) rows.push({ scenario: r.scenario, target: r.target, phase: "sold out", stats: p.sold_out });
  }
  rows.push({ scenario: r.scenario, target: r.target, phase: "all", stats: r.load.all });
  return rows;
}

function reference(rows: Row[], target: TargetName, phase: Row["phase"]): Stats | undefined {
  const same = rows.find((x) => x.target === target && x.phase === phase);
  if (same) return same.stats;
  // bare has one phase only: it is the ceiling of every phase
  return target === "bare" ? rows.find((x) => x.target === "bare" && x.phase === "all")?.stats : undefined;
}

const statusText = (s: Record<string, number>) =>
  Object.entries(s)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(", ");

const TITLES: Record<ScenarioName, (r: BenchResult) => string> = {
  seed: (r) =>
    `1. seed-compatible — ${fmt(r.sizes.seed.requests)} requests, c=${r.sizes.seed.connections}, qty ${r.sizes.seed.qty}, stock ${fmt(r.sizes.seed.stock)} (like \`ab -n 1000 -c 100\`)`,
  drop: (r) =>
    `2. the drop — one product, ${fmt(r.sizes.drop.units)} units, ${fmt(r.sizes.drop.buyers)} distinct buyers, c=${r.sizes.drop.connections}, qty 1`,
  winners: (r) =>
    `2b. winners only — one product, ${fmt(r.sizes.winners?.units)} units, ${fmt(r.sizes.winners?.buyers)} distinct buyers, c=${r.sizes.winners?.connections}, qty 1: every request wins`,
  many: (r) =>
    `3. many products — ${fmt(r.sizes.many.products)} products × ${fmt(r.sizes.many.stock)} units, ${fmt(r.sizes.many.requests)} requests on a random product, c=${r.sizes.many.connections}, qty 1`,
  drain: (r) =>
    `4. drain — ${fmt(r.sizes.drain.units)} orders bought with no orders service running (one product, then spread over ${fmt(r.sizes.many.products)} products), then an orders-only node is started`,
};

function loadTable(result: BenchResult, runs: RunRecord[]): string[] {
  const rows = runs.flatMap(rowsOf);
  const out = [
    "| target | phase | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses | × bare | × pg-lock |",
    "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|",
  ];
  for (const r of runs) {
    if (r.status !== "ok") {
      out.push(`| ${r.target} | – | – | – | – | – | – | – | **${r.status}**: ${(r.reason ?? "").split("\n")[0].slice(0, 160).replace(/\|/g, "\\|")} | – | – |`);
      continue;
    }
    for (const row of rowsOf(r)) {
      const s = row.stats;
      const bare = reference(rows, "bare", row.phase);
      const pg = reference(rows, "pg-lock", row.phase);
      out.push(
        `| ${r.target} | ${row.phase} | ${fmt(s.requests)} | **${fmt(s.rps)}** | ${ms(s.latency_ms.p50)} | ${ms(s.latency_ms.p95)} | ${ms(s.latency_ms.p99)} | ${ms(s.latency_ms.max)} | ${statusText(s.status)} | ${r.target === "bare" ? "1.00×" : ratio(s.rps, bare?.rps)} | ${r.target === "pg-lock" ? "1.00×" : ratio(s.rps, pg?.rps)} |`,
      );
    }
  }
  void result;
  return out;
}

function checksTable(runs: RunRecord[]): string[] {
  const withChecks = runs.filter((r) => r.status === "ok" && (r.checks || r.load));
  if (withChecks.length === 0) return [];
  const out = [
    "",
    "| target | audit ok | oversold products | units accepted (202 × qty) | units in DB (pending + paid) | stock | drained after load | errors / timeouts | CPU s in the load: service / Redis / PostgreSQL / nats-server / load gen (wall s) |",
    "|---|---|--:|--:|--:|--:|--:|--:|---|",
  ];
  for (const r of withChecks) {
    const c = r.checks;
    const cpu = r.cpu_s
      ? `${fmt(r.cpu_s.service, 1)} / ${fmt(r.cpu_s.redis, 1)} / ${fmt(r.cpu_s.postgres, 1)} / ${fmt(r.cpu_s.nats, 1)} / ${fmt(r.cpu_s.load_generator, 1)} (${fmt(r.cpu_s.wall, 1)})`
      : "–";
    const errs = r.load ? `${fmt(r.load.errors)} / ${fmt(r.load.timeouts)}${r.load.stopped_by_time ? " (stopped at the time limit)" : ""}` : "–";
    if (!c) {
      out.push(`| ${r.target} | n/a | n/a | – | – | – | – | ${errs} | ${cpu} |`);
      continue;
    }
    const bad = c.inconsistent.length ? ` (${c.inconsistent.length} inconsistent: ${c.inconsistent.slice(0, 3).map((i) => `#${i.id} drift ${i.drift}${i.failures?.length ? ` ${i.failures.map((f) => `${f.invariant} by ${f.by}`).join("; ")}` : ""}`).join(", ")})` : "";
    const okText = c.audit_ok ? "yes" : `**NO**${bad}${c.dead_letters ? ` dead letters ${c.dead_letters}` : ""}`;
    const units = c.accepted_units === c.db_units ? `${fmt(c.db_units)}` : `**${fmt(c.db_units)}**`;
    out.push(
      `| ${r.target} | ${okText} | ${c.oversold.length ? `**${c.oversold.length}**` : "0"} | ${fmt(c.accepted_units)} | ${units} | ${fmt(c.stock_units)} | ${c.drained ? `${fmt(c.drained_after_load_s, 1)} s` : `**not drained** (${fmt(c.in_flight)} in flight)`} | ${errs} | ${cpu} |`,
    );
  }
  return out;
}

function drainTable(runs: RunRecord[]): string[] {
  const out = [
    "| target | orders over | units | buy req/s (orders stopped) | buy p99 ms | in stream before | orders node start → first row | drain time | **orders/s** | orders/s incl. start | audit ok |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
  ];
  for (const r of runs) {
    if (r.status !== "ok" || !r.drain) {
      out.push(`| ${r.target} | ${r.variant ?? ""} | ${r.status}: ${(r.reason ?? "").split("\n")[0].slice(0, 160).replace(/\|/g, "\\|")} | | | | | | | | |`);
      continue;
    }
    const d = r.drain;
    out.push(
      `| ${r.target} | ${r.variant ?? "–"} | ${fmt(d.units)} | ${fmt(r.load?.all.rps)} | ${ms(r.load?.all.latency_ms.p99 ?? NaN)} | ${fmt(d.in_flight_before)} | ${fmt(d.orders_node_startup_s, 2)} s | ${fmt(d.drain_s, 2)} s | **${fmt(d.orders_per_s)}** | ${fmt(d.orders_per_s_incl_startup)} | ${r.checks?.audit_ok ? "yes" : "**NO**"} |`,
    );
  }
  return out;
}

/** Which generator drove the run, and the bare ceilings that chose it. */
function loadGenerator(result: BenchResult): string {
  const g = result.generators;
  const name = (x: string) => (x === "wrk" ? "wrk (Debian's, a process of its own, 1 thread, bench/wrk/orders.lua)" : "autocannon in the harness process, pipelining 1");
  if (!g) return name("autocannon");
  const ceilings = g.ceilings.map((c) => `${c.generator} ${fmt(c.rps)} req/s using ${fmt(c.generator_cpu_s, 1)} CPU s in ${fmt(c.wall_s, 1)} s`).join(", ");
  return `${name(g.chosen)}${ceilings ? ` — chosen by the bare ceiling of the drop's size: ${ceilings}` : " (chosen with --generator)"}`;
}

export function markdownSection(result: BenchResult, jsonPath: string, chartPath: string): string {
  const m = result.machine;
  const lines: string[] = [];
  lines.push(`## ${result.started_at.replace("T", " ").slice(0, 16)} UTC — \`${result.command}\``, "");
  lines.push(
    `- machine: ${m.cpus} × ${m.cpu_model}, ${m.memory_gib} GiB, ${m.platform}`,
    `- code: ${result.code ?? "unknown"}`,
    `- Node ${m.node} · Redis ${m.redis} (3-master cluster of our own, AOF everysec) · NATS ${m.nats} · ${m.postgres}`,
    `- load: ${loadGenerator(result)}, timeout 10 s, every request a distinct \`user_id\`${result.idempotency_keys === false ? " and no `Idempotency-Key`" : " and a distinct `Idempotency-Key`"}; products have per_user_limit ${result.sizes.per_user_limit}, max_per_order ${result.sizes.max_per_order}; a warm-up of ${fmt(result.sizes.warmup.requests)} requests on a separate product precedes each measured load; each scenario × target starts from an empty database, an empty Redis Cluster and a new stream prefix`,
    `- mode: ${result.quick ? "**--quick** (small sizes)" : "full"}; took ${fmt(result.duration_s / 60, 1)} min; raw numbers: \`${jsonPath}\`; chart: \`${chartPath}\``,
    "",
  );
  for (const t of result.targets) lines.push(`  - \`${t}\`: ${TARGET_DESCRIPTIONS[t]}`);
  lines.push("");

  for (const sc of result.scenarios) {
    const runs = result.runs.filter((r) => r.scenario === sc);
    if (runs.length === 0) continue;
    lines.push(`### ${TITLES[sc](result)}`, "");
    if (sc === "drain") {
      lines.push(...drainTable(runs.filter((r) => r.status !== "n/a")));
      const na = runs.filter((r) => r.status === "n/a");
      if (na.length) lines.push("", ...na.map((r) => `- \`${r.target}\`: n/a — ${r.reason}`));
    } else {
      lines.push(...loadTable(result, runs), ...checksTable(runs));
      if (sc === "drop") {
        const p = runs
          .filter((r) => r.load?.phases && r.target !== "bare")
          .map((r) => `\`${r.target}\` sold out after ${fmt(r.load!.phases!.sold_out_at_s, 2)} s`);
        if (p.length) lines.push("", `Winners' phase = from the first request to the completion of the last 202; sold-out phase = everything completed after it. ${p.join(", ")}.`);
      }
    }
    const failed = runs.filter((r) => r.status === "failed");
    for (const f of failed) lines.push("", `<details><summary>${f.target} failed</summary>`, "", "```", (f.reason ?? "").slice(0, 3000), "```", "</details>");
    lines.push("");
  }
  return lines.join("\n") + "\n";
}

export function chartRows(result: BenchResult): { rows: ChartRow[]; groups: string[] } {
  const rows: ChartRow[] = [];
  const groups: string[] = [];
  const add = (group: string, target: string, s: Stats) => {
    if (!groups.includes(group)) groups.push(group);
    rows.push({ scenario: group, target, rps: s.rps, p99: s.latency_ms.p99 });
  };
  for (const sc of result.scenarios) {
    if (sc === "drain") continue;
    for (const r of result.runs.filter((x) => x.scenario === sc && x.status === "ok" && x.load)) {
      if (sc === "drop") {
        const p = r.load!.phases;
        if (r.target === "bare" || !p) {
          add("drop: winners", r.target, r.load!.all);
          add("drop: sold out", r.target, r.load!.all);
        } else {
          add("drop: winners", r.target, p.winners);
          if (p.sold_out) add("drop: sold out", r.target, p.sold_out);
        }
      } else {
        add(sc === "seed" ? "seed (1k, c=100)" : sc === "winners" ? "winners only" : `many products`, r.target, r.load!.all);
      }
    }
  }
  const order = ["seed (1k, c=100)", "drop: winners", "drop: sold out", "winners only", "many products"];
  groups.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { rows, groups };
}

/** Written once, when the history does not exist yet; every run appends a section below it. */
const HISTORY_HEADER = `# Benchmark history

Every run of \`npm run bench\` and \`npm run bench:scale-out\` appends its section here, the
newest at the bottom, with the notes written between runs. The report (method, current
numbers, capacity): [bench/RESULTS.md](../RESULTS.md). Raw numbers of each run:
\`bench/results/<timestamp>.json\`.
`;

/** The run-by-run history: what every run appends to (bench/RESULTS.md is the report, edited by hand). */
export const HISTORY_FILE = join(BENCH_DIR, "results", "HISTORY.md");

/** Appends a run's section to the history (its header first, when it is new). */
export function appendHistory(section: string): void {
  mkdirSync(dirname(HISTORY_FILE), { recursive: true });
  if (!existsSync(HISTORY_FILE)) writeFileSync(HISTORY_FILE, HISTORY_HEADER);
  appendFileSync(HISTORY_FILE, section);
}

/**
 * Saves a run: its raw numbers (bench/results/<stamp>.json), the chart of its req/s
 * (bench/chart.png) and its section of the history. Returns what it wrote, relative to
 * the repository (the chart: or why it was not rendered).
 */
export async function saveResult(result: BenchResult, stamp: string, log: (msg: string) => void): Promise<{ json: string; chart: string; history: string }> {
  const resultsDir = join(BENCH_DIR, "results");
  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify(result, null, 2) + "\n");

  const chartFile = join(BENCH_DIR, "chart.png");
  const { rows, groups } = chartRows(result);
  let chartNote = relative(ROOT, chartFile);
  if (rows.length > 0) {
    const m = result.machine;
    try {
      await renderChart(rows, groups, result.targets, `flash-sale benchmark, ${stamp}${result.quick ? " (--quick)" : ""}: ${m.cpus} cores, Node ${m.node}`, chartFile);
    } catch (err) {
      chartNote = `not rendered (${(err as Error).message})`;
      log(`chart: ${chartNote}`);
    }
  }

  appendHistory(markdownSection(result, relative(ROOT, jsonFile), chartNote));
  return { json: relative(ROOT, jsonFile), chart: chartNote, history: relative(ROOT, HISTORY_FILE) };
}
