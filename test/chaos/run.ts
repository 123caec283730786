/**
 * One seeded chaos run, for `npm run chaos` (scripts/chaos.ts) and the short run of the
 * test suite (test/faults/chaos.test.ts); the library lives in test/chaos/ because only
 * they use it (it drives a test cluster, test/support/cluster.ts; no service imports it).
 *
 * Brings up a cluster (scripts/cluster.sh, supervision on, Redis nodes on addresses of
 * their own for the partition), puts three products on sale, runs the buyers and the
 * nemesis for `minutes`, mends everything, waits for the pipeline to drain, reads the
 * final rows and audit, checks the history (checker.ts) and reports. The history is
 * written as JSON lines, the report as JSON, under `outDir`. Whatever happens, the
 * partition's rules are removed and the cluster is purged.
 */
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, WEBHOOK_SECRET, faultSettings, startCluster, type TestCluster } from "../support/cluster.ts";
import { eventually } from "../support/stack.ts";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { check, windowOf, type Anomaly, type FinalState } from "./checker.ts";
import { runClients } from "./clients.ts";
import { FAULT_KINDS, History, type Entry, type Fault, type Op } from "./history.ts";
import { runNemesis, schedule, whole } from "./nemesis.ts";
import { partitioner } from "./partition.ts";
import { rng } from "./prng.ts";

export interface ChaosOptions {
  seed: number;
  minutes: number;
  /** CLUSTER_PORT_BASE (the cluster uses base..base+40) and HAProxy's port */
  base: number;
  port: number;
  outDir: string;
  workers?: number;
  /** run only the first `faults` faults of the seed's schedule (the first seven are one of each kind) */
  faults?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  minutes: number;
  started_at: string;
  duration_s: number;
  faults: { total: number; by_kind: Record<string, number>; unrecovered: number; not_injected: number; list: Array<Omit<Fault, "type" | "id">> };
  ops: { total: number; by_kind: Record<string, Record<string, number>> };
  anomalies: Anomaly[];
  /** the smallest window of the history around the first anomaly */
  first_anomaly_window: { from: number; to: number; entries: Entry[]; others: number } | null;
  history_file: string;
}

const REDIS_NODES = 9; // 3 masters, 2 replicas each
const STOCK = 500;

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  mkdirSync(o.outDir, { recursive: true });
  const historyFile = join(o.outDir, `chaos-${o.seed}-${stamp}.history.jsonl`);
  const cut = partitioner(o.base + 10, REDIS_NODES);
  await cut.heal(); // what a killed run may have left
  let c: TestCluster | null = null;
  // Ctrl-C or a kill mid-run: the rules out, the cluster purged, then the exit
  const interrupted = (signal: NodeJS.Signals) => {
    log(`chaos: ${signal}: removing the partition's rules and purging the cluster`);
    void cut.heal().catch(() => undefined).then(() => c?.down()).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    log(`chaos: seed ${o.seed}, ${o.minutes} min: starting the cluster on ${o.base} (HAProxy ${o.port})`);
    // Redis nodes on addresses of their own: the partition needs them
    c = await startCluster({ ...faultSettings(8), REDIS_HOSTS: "distinct" }, { base: o.base, port: o.port });
    const cluster = c;
    const history = new History(historyFile); // its times count from here
    await cluster.supervise(true); // the cluster heals itself; the nemesis only breaks things
    const products: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await cluster.admin("POST", "/api/admin/products", { name: `Chaos ${i}`, price_cents: 1000 + i, stock: STOCK, max_per_order: 2 });
      if (r.status !== 201) throw new Error(`create product: ${r.status} ${JSON.stringify(r.body)}`);
      products.push(r.body.id);
    }
    const hotKey = deploymentKeys(cluster.prefix).product(products[0]).stock;
    const hotMaster = async () => {
      const slot = Number(await cluster.redis.cluster("KEYSLOT", hotKey));
      const slots = (await cluster.redis.cluster("SLOTS")) as unknown as Array<[number, number, [string, number]]>;
      return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
    };

    const rand = rng(o.seed);
    const plan = schedule(rand.fork("nemesis"), o.minutes).slice(0, o.faults ?? Infinity);
    log(`chaos: the nemesis plans ${plan.map((f) => f.kind).join(", ")}`);
    const until = o.minutes * 60_000;
    let nemesisDone = false;
    const nemesis = runNemesis(plan, { cluster, history, partitioner: cut, hotMaster, log }, until).finally(() => (nemesisDone = true));
    await runClients({
      url: cluster.url, products, workers: o.workers ?? 8, adminToken: ADMIN_TOKEN, webhookSecret: WEBHOOK_SECRET, history,
      rand: rand.fork("clients"), stopped: () => nemesisDone && history.now() >= until,
    });
    await nemesis;

    log("chaos: the run is over; waiting for the cluster to be whole and the pipeline to drain");
    await cut.heal();
    await eventually(() => whole(cluster), 180_000, "the cluster whole again").catch((err) => log(`chaos: ${String(err)}`));
    const acked = new Set(history.entries.filter((e): e is Op => e.type === "op" && (e.kind === "order" || e.kind === "replay") && e.res.status === 202).map((e) => (e.res.body as { order_id: string }).order_id));
    let audit: FinalState["audit"] = null;
    await eventually(async () => {
      const a = await cluster.admin("GET", "/api/admin/audit");
      if (a.status !== 200) return false;
      audit = a.body;
      const { rows: [n] } = await cluster.db.query<{ n: number }>("select count(*)::int as n from orders where id = any($1::uuid[])", [[...acked]]);
      return a.body.ok && a.body.pipeline.drained && n.n === acked.size;
    }, 180_000, "drained, every acknowledged order in PostgreSQL, audit ok").catch((err) => log(`chaos: ${String(err)}`));
    const { rows: orders } = await cluster.db.query<FinalState["orders"][number]>(
      "select id::text, status, idempotency_key, product_id, qty from orders where product_id = any($1::int[])", [products],
    );
    const { rows: stock } = await cluster.db.query<{ id: number; stock_total: number }>("select id, stock_total from products where id = any($1::int[])", [products]);
    const anomalies = check(history.entries, { orders, products: stock, audit });

    const ops = history.entries.filter((e): e is Op => e.type === "op");
    const faults = history.entries.filter((e): e is Fault => e.type === "fault");
    const byKind: Record<string, Record<string, number>> = {};
    for (const op of ops) (byKind[op.kind] ??= { ok: 0, fail: 0, unknown: 0 })[op.outcome]++;
    const report: ChaosReport = {
      seed: o.seed,
      minutes: o.minutes,
      started_at: startedAt.toISOString(),
      duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
      faults: {
        total: faults.length,
        by_kind: Object.fromEntries(FAULT_KINDS.map((k) => [k, faults.filter((f) => f.kind === k).length])),
        unrecovered: faults.filter((f) => f.recoveredAfterMs === null).length,
        not_injected: faults.filter((f) => f.error !== undefined).length,
        list: faults.map(({ type: _t, id: _i, ...f }) => f),
      },
      ops: { total: ops.length, by_kind: byKind },
      anomalies,
      first_anomaly_window: anomalies.length ? windowOf(history.entries, anomalies[0]) : null,
      history_file: historyFile,
    };
    writeFileSync(join(o.outDir, `chaos-${o.seed}-${stamp}.report.json`), JSON.stringify(report, null, 2) + "\n");
    // the nodes' logs explain what the history only shows (a 500's error): kept beside the history, before the purge
    if (anomalies.length > 0) {
      const logs = historyFile.replace(/\.history\.jsonl$/, ".logs");
      cpSync(join(cluster.env.CLUSTER_DIR, "logs"), logs, { recursive: true });
      log(`chaos: the nodes' logs: ${logs}`);
    }
    return report;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await cut.heal().catch((err) => log(`chaos: could not remove the partition's rules: ${String(err)}`));
    if (c && process.env.KEEP_CHAOS_CLUSTER !== "1") await c.down();
  }
}

/** The report as a person reads it. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos: seed ${r.seed}, ${r.minutes} min (${r.duration_s} s in all)`,
    `faults: ${r.faults.total} (${Object.entries(r.faults.by_kind).map(([k, n]) => `${k} ${n}`).join(", ")}), not recovered: ${r.faults.unrecovered}, not injected: ${r.faults.not_injected}`,
    ...r.faults.list.filter((f) => f.error).map((f) => `  not injected: ${f.kind}: ${f.error}`),
    `operations checked: ${r.ops.total}`,
    ...Object.entries(r.ops.by_kind).map(([k, n]) => `  ${k}: ok ${n.ok}, fail ${n.fail}, unknown ${n.unknown}`),
    `anomalies: ${r.anomalies.length}`,
  ];
  for (const a of r.anomalies.slice(0, 20)) lines.push(`  ${a.check}: ${a.message}`);
  if (r.first_anomaly_window) {
    lines.push(`the smallest window around the first anomaly (seed ${r.seed}), ${r.first_anomaly_window.from}..${r.first_anomaly_window.to} ms:`);
    for (const e of r.first_anomaly_window.entries) lines.push(`  ${JSON.stringify(e).slice(0, 800)}`);
    lines.push(`  (and ${r.first_anomaly_window.others} other operations in that span)`);
  }
  lines.push(`history: ${r.history_file}`);
  return lines.join("\n");
}
