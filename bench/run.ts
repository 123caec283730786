/**
 * The benchmark: `npm run bench [-- --quick] [-- --only drop,many] [-- --targets redis-1p,pg-lock]`.
 * Started by scripts/bench.sh, which brings PostgreSQL/NATS (local-stack.sh) and the
 * benchmark's own Redis Cluster (REDIS_NODES, ports 17201-17203).
 *
 * For every scenario × target: an empty database (flash_sale_bench), an empty Redis
 * Cluster, a new STREAM_PREFIX; start the target (child processes of this one), warm
 * it up, run the load, wait for the pipeline to drain, audit, stop.
 * Appends a section to bench/results/HISTORY.md, writes bench/results/<timestamp>.json
 * and bench/chart.png (bench/RESULTS.md, the report, is edited by hand from them).
 * Progress goes to stderr, one line per step.
 *
 * Its parts, in bench/lib: plan.ts (the command line, the sizes), targets.ts (starting and
 * stopping a target), scenarios.ts and drain.ts (the loads), checks.ts (drain and audit
 * after a load), measure.ts (CPU, Redis commands), report.ts (the history section, JSON, chart).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { stopAll, killAllNow } from "./lib/procs.ts";
import { dropBenchDb, machineInfo } from "./lib/infra.ts";
import { newSecrets, serviceNodeArgs } from "./lib/nodes.ts";
import { saveResult } from "./lib/report.ts";
import { parsePlan } from "./lib/plan.ts";
import { codeVersion, fileStamp, stepLog, type BenchContext } from "./lib/context.ts";
import { chooseGenerator, dropAgainst, runLoadScenario } from "./lib/scenarios.ts";
import { runDrain } from "./lib/drain.ts";
import type { BenchResult, RunRecord, ScenarioName, TargetName } from "./lib/types.ts";

const plan = parsePlan();
const { scenarios, targets, quick, sizes } = plan;

const startedAt = new Date();
const stamp = fileStamp(startedAt);
const logDir = join(os.tmpdir(), `flash-bench-${stamp}`);
mkdirSync(logDir, { recursive: true });
const log = stepLog("bench");
const code = codeVersion(); // at the start: files edited while the run goes on were not measured
const ctx: BenchContext = {
  runId: randomBytes(3).toString("hex"),
  logDir,
  secrets: newSecrets(process.env.NATS_URL || "nats://127.0.0.1:4222"),
  nodeArgs: serviceNodeArgs(plan.cpuProf ? join(logDir, "cpu-prof") : undefined),
  sizes,
  idempotencyKeys: plan.idempotencyKeys,
  generator: plan.generator === "autocannon" ? "autocannon" : "wrk",
  log,
};

// Whatever happens, stop the processes this run started (and only those).
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping the processes this run started`);
    void stopAll().finally(() => process.exit(130));
  });
}

if (!process.version.startsWith("v22")) log(`warning: running on Node ${process.version}; the project expects Node 22 (npm run bench uses node_modules/.bin/node)`);

if (plan.against) {
  const token = plan.adminToken ?? process.env.ADMIN_TOKEN;
  if (!token) {
    console.error("--against needs the stack's admin token: --admin-token or ADMIN_TOKEN");
    process.exit(2);
  }
  process.exit(await dropAgainst(ctx, plan.against, token));
}

const machine = await machineInfo(ctx.secrets.natsUrl);
log(`machine: ${machine.cpus} cpus (${machine.cpu_model}), Node ${machine.node}, Redis ${machine.redis}, NATS ${machine.nats}, ${machine.postgres.split(" on ")[0]}`);
log(`${quick ? "quick" : "full"} run: scenarios ${scenarios.join(", ")}; targets ${targets.join(", ")}; logs in ${logDir}`);

const generators = plan.generator === "auto" ? await chooseGenerator(ctx) : { chosen: ctx.generator, ceilings: [] };

async function runOne(sc: ScenarioName, target: TargetName, variant: number): Promise<RunRecord> {
  const rec: RunRecord = { scenario: sc, target, status: "failed", started_at: new Date().toISOString(), elapsed_s: 0 };
  if (variant) rec.variant = `${variant.toLocaleString("en-US")} product${variant > 1 ? "s" : ""}`;
  const r0 = performance.now();
  try {
    if (sc === "drain") await runDrain(ctx, target, rec, variant);
    else await runLoadScenario(ctx, sc, target, rec);
  } catch (err) {
    rec.status = "failed";
    rec.reason = (err as Error).message;
    log(`  ${sc} / ${target}: FAILED: ${(err as Error).message.split("\n")[0]}`);
  }
  rec.elapsed_s = Math.round((performance.now() - r0) / 100) / 10;
  if (rec.status !== "n/a") log(`${sc} / ${target}${rec.variant ? `, ${rec.variant}` : ""}: ${rec.status} in ${rec.elapsed_s} s`);
  return rec;
}

const runs: RunRecord[] = [];
for (const sc of scenarios) {
  for (const target of targets) {
    // the drain is measured twice: orders of one product, and orders spread over many products
    const variants = sc === "drain" && target === "redis-nats" ? [1, sizes.many.products] : [0];
    for (const variant of variants) runs.push(await runOne(sc, target, variant));
  }
}
await dropBenchDb().catch(() => undefined);

const finishedAt = new Date();
const result: BenchResult = {
  started_at: startedAt.toISOString(),
  finished_at: finishedAt.toISOString(),
  duration_s: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  code,
  quick,
  scenarios,
  targets,
  sizes,
  idempotency_keys: plan.idempotencyKeys,
  machine,
  runs,
  generators,
};

if (plan.noSave) {
  log(`done in ${(result.duration_s / 60).toFixed(1)} min (--no-save: nothing written; logs in ${logDir})`);
  process.exit(runs.some((r) => r.checks && (r.checks.oversold.length > 0 || !r.checks.audit_ok)) ? 1 : 0);
}

const saved = await saveResult(result, stamp, log);
const failed = runs.filter((r) => r.status === "failed");
const unsafe = runs.filter((r) => r.checks && (r.checks.oversold.length > 0 || !r.checks.audit_ok));
log(`done in ${(result.duration_s / 60).toFixed(1)} min: ${saved.history}, ${saved.json}, ${saved.chart}`);
if (failed.length) log(`failed: ${failed.map((r) => `${r.scenario}/${r.target}`).join(", ")}`);
if (unsafe.length) log(`AUDIT PROBLEMS: ${unsafe.map((r) => `${r.scenario}/${r.target}`).join(", ")}`);
process.exitCode = unsafe.length ? 1 : 0;
