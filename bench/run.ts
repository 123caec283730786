/**
 * The benchmark: `npm run bench [-- --quick] [-- --only drop,many] [-- --targets redis-1p,pg-lock]`.
 * Started by scripts/bench.sh, which brings PostgreSQL/NATS (local-stack.sh) and the
 * benchmark's own Redis Cluster (REDIS_NODES, ports 17201-17203).
 *
 * For every scenario × target: an empty database (flash_sale_bench), an empty Redis
 * Cluster, a new STREAM_PREFIX; start the target (child processes of this one), warm
 * it up, run the load with autocannon, wait for the pipeline to drain, audit, stop.
 * Appends a section to bench/RESULTS.md, writes bench/results/<timestamp>.json and
 * bench/chart.png. Progress goes to stderr, one line per step.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, relative } from "node:path";
import os from "node:os";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { describeExit, spawnNode, stopChild, stopAll, killAllNow, waitFor, freePort, sleep, tail, type Child } from "./lib/procs.ts";
import { BENCH_PORT_BASE, PipelineProbe, redisCommandCalls, benchDbBackendPids, dbClient, deleteStreamsOf, dropBenchDb, flushBenchRedis, machineInfo, redisNodes, transactionsSettled } from "./lib/infra.ts";
import { runLoad } from "./lib/load.ts";
import { drive, GENERATORS, type Driven, type Generator } from "./lib/drive.ts";
import { Admin, type NewProduct } from "./lib/service.ts";
import { cpuDelta, cpuMap, pidsByComm, redisPids } from "./lib/cpu.ts";
import { renderChart } from "./lib/chart.ts";
import { health200, healthy, nodeEnv, serviceNodeArgs } from "./lib/nodes.ts";
import { chartRows, markdownSection, RESULTS_HEADER } from "./lib/report.ts";
import {
  SCENARIOS,
  TARGETS,
  type BenchResult,
  type Checks,
  type DrainResult,
  type RunRecord,
  type ScenarioName,
  type Sizes,
  type TargetName,
} from "./lib/types.ts";

const ROOT = join(import.meta.dirname, "..");
const BENCH = import.meta.dirname;
const RUN_SCRIPT = join(ROOT, "scripts", "run.ts");
const BARE_SCRIPT = join(BENCH, "bare-server.ts");

// ---------------------------------------------------------------- options

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    targets: { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
    "no-save": { type: "boolean", default: false },
    generator: { type: "string", default: "auto" },
    against: { type: "string" },
    "idempotency-keys": { type: "boolean", default: false },
    "admin-token": { type: "string" },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});

if (opts.help) {
  console.log(`usage: npm run bench -- [--quick] [--only ${SCENARIOS.join(",")}] [--targets ${TARGETS.join(",")}]
  --quick     small sizes (drop of 20,000 buyers / 1,000 units, 100 products): a few minutes
  --only      scenarios to run (default: all; winners: one product with more units than buyers)
  --targets   targets to run (default: all)
  --cpu-prof  write V8 CPU profiles of the service processes (node --cpu-prof) next to the logs
  --no-save   print only: no RESULTS.md section, JSON or chart
  (env BENCH_NODE_ARGS: extra node/V8 flags for every service process, e.g. "--trace-opt")
  --generator auto | wrk | autocannon (default auto: measure the bare ceiling with both, drive
              every scenario with the one that reaches the higher)
  --idempotency-keys  every order request carries its own Idempotency-Key (default: none, buyers
              that do not retry; a keyed sold-out answer costs the edge one Redis GET)
  --against URL  run only the drop against a stack already running at URL (its admin token:
              --admin-token or ADMIN_TOKEN); prints the numbers, saves nothing`);
  process.exit(0);
}

function pick<T extends string>(raw: string | undefined, all: readonly T[], what: string): T[] {
  if (!raw) return [...all];
  const wanted = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) {
    if (!all.includes(w as T)) {
      console.error(`unknown ${what} "${w}" (known: ${all.join(", ")})`);
      process.exit(2);
    }
  }
  return all.filter((a) => wanted.includes(a));
}

if (!["auto", ...GENERATORS].includes(opts.generator ?? "auto")) {
  console.error(`unknown --generator "${opts.generator}" (known: auto, ${GENERATORS.join(", ")})`);
  process.exit(2);
}
const scenarios = pick(opts.only, SCENARIOS, "scenario");
const targets = pick(opts.targets, TARGETS, "target");
const quick = opts.quick ?? false;

const sizes: Sizes = quick
  ? {
      seed: { requests: 1_000, connections: 100, qty: 2, stock: 1_000 },
      drop: { buyers: 20_000, units: 1_000, connections: 200 },
      winners: { units: 100_000, buyers: 5_000, connections: 200 },
      many: { products: 100, stock: 100, requests: 5_000, connections: 200 },
      drain: { units: 2_000, connections: 200 },
      warmup: { requests: 500, stock: 200, connections: 50 },
      per_user_limit: 2,
      max_per_order: 2,
      max_load_seconds: 90,
      drain_timeout_seconds: 90,
    }
  : {
      seed: { requests: 1_000, connections: 100, qty: 2, stock: 1_000 },
      drop: { buyers: 200_000, units: 10_000, connections: 200 },
      winners: { units: 1_000_000, buyers: 50_000, connections: 200 },
      many: { products: 1_000, stock: 100, requests: 50_000, connections: 200 },
      drain: { units: 20_000, connections: 200 },
      warmup: { requests: 1_000, stock: 300, connections: 50 },
      per_user_limit: 2,
      max_per_order: 2,
      max_load_seconds: 240,
      drain_timeout_seconds: 180,
    };

const natsUrl = process.env.NATS_URL || "nats://127.0.0.1:4222";
const runId = randomBytes(3).toString("hex");
const adminToken = `bench-admin-${randomBytes(12).toString("hex")}`;
const webhookSecret = `bench-webhook-${randomBytes(12).toString("hex")}`;
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, "-").replace(/-\d{3}Z$/, "Z");
const logDir = join(os.tmpdir(), `flash-bench-${stamp}`);
mkdirSync(logDir, { recursive: true });
const t0 = performance.now();
const code = codeVersion(); // at the start: files edited while the run goes on were not measured
let streamSeq = 0;
const nodeArgs = serviceNodeArgs(opts["cpu-prof"] ? join(logDir, "cpu-prof") : undefined);

function log(msg: string): void {
  const s = Math.floor((performance.now() - t0) / 1000);
  const mmss = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  process.stderr.write(`[bench ${mmss}] ${msg}\n`);
}

// Whatever happens, stop the processes this run started (and only those).
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping the processes this run started`);
    void stopAll().finally(() => process.exit(130));
  });
}

if (!process.version.startsWith("v22")) log(`warning: running on Node ${process.version}; the project expects Node 22 (npm run bench uses node_modules/.bin/node)`);

/** The commit measured, and whether the work tree differed from it. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}

// ---------------------------------------------------------------- targets

interface Running {
  base: string;
  children: Child[];
  prefix: string | null;
}

const secrets = { adminToken, webhookSecret, natsUrl };
const serviceEnv = (prefix: string, port: number, extra: Record<string, string>) => nodeEnv(secrets, prefix, port, extra);

/** A clean slate for one run: empty database and Redis Cluster, a new stream prefix. */
async function freshState(): Promise<string> {
  await dropBenchDb();
  await flushBenchRedis();
  return `BENCH${runId}_${++streamSeq}`;
}

async function startTarget(target: TargetName, name: string): Promise<Running> {
  if (target === "bare") {
    const port = await freePort(BENCH_PORT_BASE);
    const child = spawnNode(`${name}-bare`, BARE_SCRIPT, { ...process.env, PORT: String(port), HOST: "127.0.0.1" }, logDir, ROOT);
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the bare server", () => healthy(base, health200), 20_000, [child]);
    return { base, children: [child], prefix: null };
  }
  const prefix = await freshState();
  const port = await freePort(BENCH_PORT_BASE + 10);
  const base = `http://127.0.0.1:${port}`;
  const children: Child[] = [];
  const running: Running = { base, children, prefix };
  try {
    if (target === "redis-1p" || target === "pg-lock") {
      const mode = target === "pg-lock" ? "pg-lock" : "redis";
      children.push(spawnNode(`${name}-${target}`, RUN_SCRIPT, serviceEnv(prefix, port, { TRANSPORTER: "none", INVENTORY_MODE: mode }), logDir, ROOT, nodeArgs));
    } else {
      children.push(
        spawnNode(
          `${name}-backend`,
          RUN_SCRIPT,
          serviceEnv(prefix, port, { TRANSPORTER: "nats", SERVICES: "inventory,orders,payments,sweeper", NODE_ID: `bench-backend-${prefix}` }),
          logDir,
          ROOT,
          nodeArgs,
        ),
      );
      children.push(
        spawnNode(`${name}-gateway`, RUN_SCRIPT, serviceEnv(prefix, port, { TRANSPORTER: "nats", SERVICES: "gateway", NODE_ID: `bench-gateway-${prefix}` }), logDir, ROOT, nodeArgs),
      );
    }
    await waitFor(`${target} /health = 200`, () => healthy(base, health200), 120_000, children, 250);
    return running;
  } catch (err) {
    await stopRunning(running);
    throw err;
  }
}

async function stopRunning(r: Running): Promise<void> {
  await Promise.all(r.children.map((c) => stopChild(c)));
  const bad = r.children.filter((c) => !c.stopping || (c.exitCode !== 0 && c.exitCode !== null));
  for (const c of bad) log(`  note: ${c.name} exited (${describeExit(c)}; log: ${c.logFile})`);
  if (r.prefix) await deleteStreamsOf(natsUrl, r.prefix).catch((err: Error) => log(`  note: could not delete streams of ${r.prefix}: ${err.message}`));
}

// ---------------------------------------------------------------- load helpers

const product = (name: string, stock: number): NewProduct => ({
  name,
  price_cents: 49_900,
  stock,
  per_user_limit: sizes.per_user_limit,
  max_per_order: sizes.max_per_order,
});

/** The generator chosen for this run (see chooseGenerator). */
let generator: Generator = opts.generator === "autocannon" ? "autocannon" : "wrk";

function orderLoad(label: string, base: string, amount: number, connections: number, qty: number, products: number[], tag: string, phases: boolean): Promise<Driven> {
  return drive(generator, {
    label, url: base, amount, connections, maxSeconds: sizes.max_load_seconds, qty, products, tag, phases,
    idempotencyKeys: opts["idempotency-keys"],
    progress: (line) => log(`  ${line}`),
  });
}

async function warmUp(r: Running, target: TargetName, tag: string): Promise<void> {
  const w = sizes.warmup;
  let pid = 1;
  if (target !== "bare") pid = await new Admin(r.base, adminToken).createProduct(product("warm-up", w.stock));
  await runLoad({
    label: "warm-up",
    url: r.base,
    path: "/api/orders",
    amount: w.requests,
    connections: w.connections,
    maxSeconds: 60,
    next: (i) => ({ body: JSON.stringify({ product_id: pid, qty: 1, user_id: `${tag}-w${i}` }), headers: { "idempotency-key": `${tag}-w${i}` } }),
  });
}

/** Waits (bounded) until the orders consumer has nothing pending, watching JetStream, not the service. */
async function waitDrained(prefix: string | null): Promise<number | null> {
  if (!prefix) return null;
  const probe = await PipelineProbe.open(natsUrl, prefix);
  const w0 = performance.now();
  try {
    const deadline = w0 + sizes.drain_timeout_seconds * 1000;
    let lastLog = w0;
    for (;;) {
      const n = await probe.inFlight();
      const now = performance.now();
      if (n === 0) return now - w0;
      if (now > deadline) return null;
      if (now - lastLog > 5000) {
        lastLog = now;
        log(`  waiting for the pipeline: ${n} orders still in flight to PostgreSQL`);
      }
      await sleep(100);
    }
  } finally {
    await probe.close();
  }
}

async function checksAfter(admin: Admin, prefix: string | null, productIds: number[], acceptedUnits: number, readStock: boolean): Promise<Checks> {
  const drainedMs = await waitDrained(prefix).catch((err: Error) => {
    log(`  note: could not watch the pipeline in JetStream (${err.message}); polling the audit instead`);
    return undefined;
  });
  const polled = drainedMs === undefined ? await admin.auditWhenDrained(sizes.drain_timeout_seconds * 1000) : null;
  const a0 = performance.now();
  const audit = polled ? polled.audit : await admin.audit();
  const audit_ms = polled ? polled.audit_ms : performance.now() - a0;
  const drained_after_ms = polled ? polled.drained_after_ms : drainedMs ?? null;
  const ids = new Set(productIds);
  const mine = audit.products.filter((p) => ids.has(p.id));
  const checks: Checks = {
    audit_ok: audit.ok,
    drained: audit.pipeline.drained,
    drained_after_load_s: drained_after_ms === null ? null : Math.round(drained_after_ms / 100) / 10,
    audit_s: Math.round(audit_ms / 100) / 10,
    in_flight: audit.pipeline.in_flight,
    dead_letters: audit.pipeline.dead_letters,
    oversold: audit.products.filter((p) => p.paid + p.pending > p.stock_total).map((p) => p.id),
    inconsistent: audit.products.filter((p) => !p.consistent).map((p) => ({ id: p.id, drift: p.drift, failures: p.failures })),
    products: mine.length,
    stock_units: mine.reduce((a, p) => a + p.stock_total, 0),
    accepted_units: acceptedUnits,
    db_units: mine.reduce((a, p) => a + p.pending + p.paid, 0),
  };
  if (readStock) checks.stock_available_after = await Promise.all(productIds.map((id) => admin.stockAvailable(id)));
  return checks;
}

interface CpuSnap {
  svc: Map<number, number>;
  redis: Map<number, number>;
  pg: Map<number, number>;
  nats: Map<number, number>;
  lg: NodeJS.CpuUsage;
}

async function cpuSnap(children: Child[]): Promise<CpuSnap> {
  return {
    svc: cpuMap(children.map((c) => c.proc.pid).filter((p): p is number => p !== undefined)),
    redis: cpuMap(redisPids(ROOT, redisBasePort)),
    pg: cpuMap(await benchDbBackendPids().catch(() => [])),
    nats: cpuMap(pidsByComm("nats-server")),
    lg: process.cpuUsage(),
  };
}

/** `generatorCpuS`: the CPU of a generator in a process of its own (wrk); otherwise this process's. */
async function cpuSince(s0: CpuSnap, children: Child[], wallMs: number, generatorCpuS?: number): Promise<NonNullable<RunRecord["cpu_s"]>> {
  const s1 = await cpuSnap(children);
  const lg = process.cpuUsage(s0.lg);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    service: r1(cpuDelta(s0.svc, s1.svc)),
    redis: r1(cpuDelta(s0.redis, s1.redis)),
    postgres: r1(cpuDelta(s0.pg, s1.pg)),
    nats: r1(cpuDelta(s0.nats, s1.nats)),
    load_generator: r1(generatorCpuS ?? (lg.user + lg.system) / 1e6),
    wall: r1(wallMs / 1000),
  };
}

/** The CPU of a load, per answered request: where a path's cost sits between the processes. */
function logCpu(what: string, cpu: NonNullable<RunRecord["cpu_s"]>, answers: number): void {
  const us = (s: number) => Math.round((s * 1e6) / Math.max(1, answers));
  log(`  ${what}: CPU µs per answer: service ${us(cpu.service)}, Redis ${us(cpu.redis)}, PostgreSQL ${us(cpu.postgres)}, nats-server ${us(cpu.nats)}, load generator ${us(cpu.load_generator)} (${cpu.wall} s wall)`);
}

/** The mean micro-batch (reservations per Redis script call) of the node behind `base`, when it runs the inventory. */
async function logBatches(what: string, base: string): Promise<void> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text()).catch(() => "");
  const total = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((s, m) => s + Number(m[1]), 0);
  const batches = total("flash_reserve_batches_total");
  if (batches > 0) log(`  ${what}: ${batches} reservation batches, ${(total("flash_reserve_batched_requests_total") / batches).toFixed(1)} requests per batch on average`);
}

const redisBasePort = redisNodes()[0]?.port ?? 17201;

// ---------------------------------------------------------------- scenarios

interface LoadPlan {
  products: NewProduct[];
  amount: number;
  connections: number;
  qty: number;
  phases: boolean;
  readStock: boolean;
}

/** One product, distinct buyers of one unit each: the drop (it sells out) or winners only (it does not). */
function oneProduct(name: string, size: { units: number; buyers: number; connections: number }, phases: boolean): LoadPlan {
  return { products: [product(name, size.units)], amount: size.buyers, connections: size.connections, qty: 1, phases, readStock: true };
}

function planFor(sc: Exclude<ScenarioName, "drain">): LoadPlan {
  switch (sc) {
    case "seed":
      return {
        products: [product("seed-compatible", sizes.seed.stock)],
        amount: sizes.seed.requests,
        connections: sizes.seed.connections,
        qty: sizes.seed.qty,
        phases: false,
        readStock: true,
      };
    case "drop":
      return oneProduct("the drop", sizes.drop, true);
    case "winners":
      return oneProduct("winners only", sizes.winners, false);
    case "many":
      return {
        products: Array.from({ length: sizes.many.products }, (_, i) => product(`many-${i + 1}`, sizes.many.stock)),
        amount: sizes.many.requests,
        connections: sizes.many.connections,
        qty: 1,
        phases: false,
        readStock: false,
      };
  }
}

async function runLoadScenario(sc: Exclude<ScenarioName, "drain">, target: TargetName, rec: RunRecord): Promise<void> {
  const plan = planFor(sc);
  const name = `${sc}-${target}`;
  const tag = `b${runId}${sc[0]}${TARGETS.indexOf(target)}`;
  log(`${sc} / ${target}: starting`);
  const running = await startTarget(target, name);
  rec.stream_prefix = running.prefix ?? undefined;
  try {
    const admin = new Admin(running.base, adminToken);
    await warmUp(running, target, tag);
    let ids: number[];
    if (target === "bare") ids = plan.products.map((_, i) => i + 1);
    else {
      const c0 = performance.now();
      ids = await admin.createProducts(plan.products.length, (i) => plan.products[i]);
      if (plan.products.length > 10) log(`  ${sc} / ${target}: created ${ids.length} products in ${((performance.now() - c0) / 1000).toFixed(1)} s`);
    }

    const cpu0 = await cpuSnap(running.children);
    const redis0 = target === "bare" ? null : await redisCommandCalls();
    const run = await orderLoad(`${sc} / ${target}`, running.base, plan.amount, plan.connections, plan.qty, ids, tag, plan.phases);
    rec.cpu_s = await cpuSince(cpu0, running.children, run.duration_ms, run.generator === "wrk" ? run.generator_cpu_s : undefined);
    logCpu(`${sc} / ${target}`, rec.cpu_s, run.completed);
    if (redis0) {
      await logBatches(`${sc} / ${target}`, running.base);
      const redis1 = await redisCommandCalls();
      const per = [...redis1].map(([c, n]) => [c, (n - (redis0.get(c) ?? 0)) / Math.max(1, run.completed)] as const)
        .filter(([, x]) => x >= 0.005).sort((a, b) => b[1] - a[1]);
      log(`  ${sc} / ${target}: Redis commands per answer: ${per.map(([c, x]) => `${c} ${x.toFixed(2)}`).join(", ") || "none"}`);
    }
    rec.loadavg_after = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const accepted = run.accepted;
    rec.load = {
      generator: run.generator,
      requested: plan.amount,
      completed: run.completed,
      connections: Math.min(plan.connections, plan.amount),
      qty: plan.qty,
      errors: run.errors,
      timeouts: run.timeouts,
      stopped_by_time: run.stopped_by_time,
      all: run.all,
      phases: run.phases,
    };
    const a = rec.load.all;
    log(
      `  ${sc} / ${target}: ${a.requests} responses in ${a.duration_s} s = ${a.rps} req/s, p50 ${a.latency_ms.p50} ms, p99 ${a.latency_ms.p99} ms, statuses ${JSON.stringify(a.status)}${run.errors ? `, errors ${run.errors}` : ""}`,
    );
    if (rec.load.phases && target !== "bare") {
      const p = rec.load.phases;
      log(
        `  ${sc} / ${target}: winners ${p.winners.rps} req/s (p99 ${p.winners.latency_ms.p99} ms) until ${p.sold_out_at_s} s; sold out ${p.sold_out?.rps ?? "–"} req/s (p99 ${p.sold_out?.latency_ms.p99 ?? "–"} ms)`,
      );
    }
    if (target !== "bare") {
      if (run.stopped_by_time) {
        const waited = await transactionsSettled(sizes.drain_timeout_seconds * 1000);
        log(`  ${sc} / ${target}: stopped at the time limit: the requests it had read ended ${(waited / 1000).toFixed(1)} s later (no open transaction in the database)`);
      }
      rec.checks = await checksAfter(admin, running.prefix, ids, accepted * plan.qty, plan.readStock);
      const c = rec.checks;
      log(
        `  ${sc} / ${target}: audit ok=${c.audit_ok}, drained=${c.drained}${c.drained_after_load_s !== null ? ` (+${c.drained_after_load_s} s)` : ""}, oversold=${c.oversold.length}, units 202=${c.accepted_units} DB=${c.db_units} stock=${c.stock_units}`,
      );
    }
    rec.status = "ok";
  } catch (err) {
    throw withChildren(err as Error, running.children);
  } finally {
    await stopRunning(running);
  }
}

/** A failure while the target runs: say which of its processes are gone, and show their logs. */
function withChildren(err: Error, children: Child[]): Error {
  const dead = children.filter((c) => c.exitCode !== undefined);
  if (dead.length === 0) return err;
  const what = dead.map((c) => `${c.name} exited (${describeExit(c)}); log tail:\n${tail(c.logFile, 25)}`).join("\n");
  return new Error(`${err.message}: ${what}`);
}

async function runDrain(target: TargetName, rec: RunRecord, productCount: number): Promise<void> {
  if (target === "bare") {
    rec.status = "n/a";
    rec.reason = "the bare server has no pipeline";
    return;
  }
  if (target === "pg-lock") {
    rec.status = "n/a";
    rec.reason = "pg-lock writes the order row inside the request (no stream, nothing to drain); its cost is in its req/s above";
    return;
  }
  if (target === "redis-1p") {
    rec.status = "n/a";
    rec.reason = "needs the orders service in a separate node (measured with the redis-nats topology); the one-process drain lag after each load is in the 'drained after load' column above";
    return;
  }
  log(`drain / ${target}, ${productCount} product${productCount > 1 ? "s" : ""}: starting (gateway,inventory,payments,sweeper node; orders node later)`);
  const prefix = await freshState();
  rec.stream_prefix = prefix;
  const port = await freePort(BENCH_PORT_BASE + 10);
  const base = `http://127.0.0.1:${port}`;
  const running: Running = { base, children: [], prefix };
  const db = { client: null as Awaited<ReturnType<typeof dbClient>> | null };
  try {
    running.children.push(
      spawnNode(
        `drain-front`,
        RUN_SCRIPT,
        serviceEnv(prefix, port, { TRANSPORTER: "nats", SERVICES: "gateway,inventory,payments,sweeper", NODE_ID: `bench-front-${prefix}` }),
        logDir,
        ROOT,
        nodeArgs,
      ),
    );
    // no orders service yet: /health says db "down" (503), but inventory answers
    await waitFor("drain front node (redis up)", () => healthy(base, (_s, b) => b.redis === "up"), 120_000, running.children, 250);
    const admin = new Admin(base, adminToken);
    // enough stock everywhere: every buyer wins, so N orders wait in the stream
    const perProduct = productCount === 1 ? sizes.drain.units : Math.ceil((3 * sizes.drain.units) / productCount);
    const ids = await admin.createProducts(productCount, (i) => product(`drain-${i + 1}`, perProduct));
    const tag = `b${runId}d${productCount}`;
    const cpu0 = await cpuSnap(running.children);
    const run = await orderLoad(
      `drain / ${target} (buying, orders stopped)`,
      base,
      sizes.drain.units,
      sizes.drain.connections,
      1,
      ids,
      tag,
      false,
    );
    rec.cpu_s = await cpuSince(cpu0, running.children, run.duration_ms, run.generator === "wrk" ? run.generator_cpu_s : undefined);
    const accepted = run.accepted;
    rec.load = {
      generator: run.generator,
      requested: sizes.drain.units,
      completed: run.completed,
      connections: sizes.drain.connections,
      qty: 1,
      errors: run.errors,
      timeouts: run.timeouts,
      stopped_by_time: run.stopped_by_time,
      all: run.all,
    };
    const before = await admin.audit();
    log(`  drain / ${target}: ${accepted} orders accepted at ${rec.load.all.rps} req/s; ${before.pipeline.in_flight} waiting in the stream; starting an orders-only node`);

    db.client = await dbClient();
    const count = async () => (await db.client!.query<{ n: number }>("select count(*)::int as n from orders")).rows[0].n;
    const tSpawn = performance.now();
    const ordersNode = spawnNode(`drain-orders`, RUN_SCRIPT, serviceEnv(prefix, port, { TRANSPORTER: "nats", SERVICES: "orders", NODE_ID: `bench-orders-${prefix}` }), logDir, ROOT, nodeArgs);
    running.children.push(ordersNode);
    const timeline: Array<[number, number]> = [];
    let tFirst: number | null = null;
    let cFirst = 0;
    let tDone: number | null = null;
    const deadline = tSpawn + sizes.drain_timeout_seconds * 1000;
    let lastLog = tSpawn;
    while (performance.now() < deadline) {
      if (ordersNode.exitCode !== undefined) throw new Error(`the orders node exited (code ${ordersNode.exitCode}); log tail:\n${tail(ordersNode.logFile)}`);
      const n = await count();
      const now = performance.now();
      timeline.push([Math.round(now - tSpawn) / 1000, n]);
      if (n > 0 && tFirst === null) {
        tFirst = now;
        cFirst = n;
      }
      if (n >= accepted) {
        tDone = now;
        break;
      }
      if (now - lastLog > 5000) {
        lastLog = now;
        log(`  drain / ${target}: ${n}/${accepted} orders in PostgreSQL`);
      }
      await sleep(50);
    }
    const drain: DrainResult = {
      units: accepted,
      in_flight_before: before.pipeline.in_flight,
      orders_node_startup_s: tFirst === null ? null : Math.round(tFirst - tSpawn) / 1000,
      drain_s: tFirst !== null && tDone !== null ? Math.round(tDone - tFirst) / 1000 : null,
      orders_per_s: tFirst !== null && tDone !== null && tDone > tFirst ? Math.round(((accepted - cFirst) * 1000) / (tDone - tFirst)) : null,
      orders_per_s_incl_startup: tDone !== null ? Math.round((accepted * 1000) / (tDone - tSpawn)) : null,
      timeline,
    };
    rec.drain = drain;
    log(
      `  drain / ${target}: ${tDone === null ? "NOT drained in time" : `${accepted} orders persisted`}; first row ${drain.orders_node_startup_s} s after the spawn, then ${drain.drain_s} s = ${drain.orders_per_s} orders/s`,
    );
    rec.checks = await checksAfter(admin, prefix, ids, accepted, ids.length <= 10);
    log(`  drain / ${target}: audit ok=${rec.checks.audit_ok}, drained=${rec.checks.drained}, units 202=${rec.checks.accepted_units} DB=${rec.checks.db_units}`);
    rec.status = tDone === null ? "failed" : "ok";
    if (tDone === null) rec.reason = `not drained within ${sizes.drain_timeout_seconds} s`;
  } catch (err) {
    throw withChildren(err as Error, running.children);
  } finally {
    await db.client?.end().catch(() => undefined);
    await stopRunning(running);
  }
}

// ---------------------------------------------------------------- main

if (opts.against) {
  // the drop only, against a stack someone else runs: create the product, drive, report
  const base = opts.against.replace(/\/$/, "");
  const token = opts["admin-token"] ?? process.env.ADMIN_TOKEN;
  if (!token) {
    console.error("--against needs the stack's admin token: --admin-token or ADMIN_TOKEN");
    process.exit(2);
  }
  const admin = new Admin(base, token);
  const id = await admin.createProduct(product("the drop (--against)", sizes.drop.units));
  log(`drop against ${base}: product ${id}, ${sizes.drop.units} units, ${sizes.drop.buyers} buyers, c=${sizes.drop.connections}, generator ${generator}`);
  const r = await orderLoad(`drop / ${base}`, base, sizes.drop.buyers, sizes.drop.connections, 1, [id], `a${runId}`, true);
  const a = r.all;
  log(`drop / ${base}: ${a.requests} responses in ${a.duration_s} s = ${a.rps} req/s, p50 ${a.latency_ms.p50} ms, p99 ${a.latency_ms.p99} ms, statuses ${JSON.stringify(a.status)}; the generator used ${r.generator_cpu_s} CPU s`);
  if (r.phases) log(`  winners ${r.phases.winners.rps} req/s until ${r.phases.sold_out_at_s} s; sold out ${r.phases.sold_out?.rps ?? "–"} req/s`);
  const sold = (await admin.stockAvailable(id)) ?? 0;
  log(`  202s: ${r.accepted} for ${sizes.drop.units} units; stock left ${sold}${r.accepted + sold > sizes.drop.units ? " — OVERSOLD" : ""}`);
  process.exit(r.accepted + sold > sizes.drop.units ? 1 : 0);
}

const machine = await machineInfo(natsUrl);
log(`machine: ${machine.cpus} cpus (${machine.cpu_model}), Node ${machine.node}, Redis ${machine.redis}, NATS ${machine.nats}, ${machine.postgres.split(" on ")[0]}`);
log(`${quick ? "quick" : "full"} run: scenarios ${scenarios.join(", ")}; targets ${targets.join(", ")}; logs in ${logDir}`);

/**
 * The load generator must not be the bottleneck: the bare server's ceiling is measured
 * with each generator (the drop's size and connections), and the one that reaches the
 * higher drives every scenario of the run.
 */
async function chooseGenerator(): Promise<NonNullable<BenchResult["generators"]>> {
  const ceilings: NonNullable<BenchResult["generators"]>["ceilings"] = [];
  const bare = await startTarget("bare", "ceiling");
  try {
    for (const g of GENERATORS) {
      generator = g;
      await warmUp(bare, "bare", `c${runId}w${g}`);
      const r = await orderLoad(`bare ceiling / ${g}`, bare.base, sizes.drop.buyers, sizes.drop.connections, 1, [1], `c${runId}${g}`, false);
      ceilings.push({ generator: g, rps: r.all.rps, generator_cpu_s: r.generator_cpu_s, wall_s: Math.round(r.duration_ms / 100) / 10 });
      log(`  bare ceiling with ${g}: ${r.all.rps} req/s, the generator used ${r.generator_cpu_s} CPU s in ${(r.duration_ms / 1000).toFixed(1)} s`);
    }
  } finally {
    await stopRunning(bare);
  }
  const best = ceilings.reduce((a, b) => (b.rps > a.rps ? b : a));
  generator = best.generator;
  log(`load generator: ${generator} (the higher bare ceiling)`);
  return { chosen: generator, ceilings };
}

const generators = opts.generator === "auto" ? await chooseGenerator() : { chosen: generator, ceilings: [] };

const runs: RunRecord[] = [];

async function runOne(sc: ScenarioName, target: TargetName, variant: number): Promise<RunRecord> {
  const rec: RunRecord = { scenario: sc, target, status: "failed", started_at: new Date().toISOString(), elapsed_s: 0 };
  if (variant) rec.variant = `${variant.toLocaleString("en-US")} product${variant > 1 ? "s" : ""}`;
  const r0 = performance.now();
  try {
    if (sc === "drain") await runDrain(target, rec, variant);
    else await runLoadScenario(sc, target, rec);
  } catch (err) {
    rec.status = "failed";
    rec.reason = (err as Error).message;
    log(`  ${sc} / ${target}: FAILED: ${(err as Error).message.split("\n")[0]}`);
  }
  rec.elapsed_s = Math.round((performance.now() - r0) / 100) / 10;
  if (rec.status !== "n/a") log(`${sc} / ${target}${rec.variant ? `, ${rec.variant}` : ""}: ${rec.status} in ${rec.elapsed_s} s`);
  return rec;
}

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
  idempotency_keys: opts["idempotency-keys"],
  machine,
  runs,
  generators,
};

if (opts["no-save"]) {
  log(`done in ${(result.duration_s / 60).toFixed(1)} min (--no-save: nothing written; logs in ${logDir})`);
  process.exit(runs.some((r) => r.checks && (r.checks.oversold.length > 0 || !r.checks.audit_ok)) ? 1 : 0);
}

const resultsDir = join(BENCH, "results");
mkdirSync(resultsDir, { recursive: true });
const jsonFile = join(resultsDir, `${stamp}.json`);
writeFileSync(jsonFile, JSON.stringify(result, null, 2) + "\n");

const chartFile = join(BENCH, "chart.png");
const { rows, groups } = chartRows(result);
let chartNote = relative(ROOT, chartFile);
if (rows.length > 0) {
  try {
    await renderChart(rows, groups, targets, `flash-sale benchmark, ${stamp}${quick ? " (--quick)" : ""}: ${machine.cpus} cores, Node ${machine.node}`, chartFile);
  } catch (err) {
    chartNote = `not rendered (${(err as Error).message})`;
    log(`chart: ${chartNote}`);
  }
}

const resultsMd = join(BENCH, "RESULTS.md");
if (!existsSync(resultsMd)) writeFileSync(resultsMd, RESULTS_HEADER);
appendFileSync(resultsMd, markdownSection(result, relative(ROOT, jsonFile), chartNote));

const failed = runs.filter((r) => r.status === "failed");
const unsafe = runs.filter((r) => r.checks && (r.checks.oversold.length > 0 || !r.checks.audit_ok));
log(`done in ${(result.duration_s / 60).toFixed(1)} min: ${relative(ROOT, resultsMd)}, ${relative(ROOT, jsonFile)}, ${chartNote}`);
if (failed.length) log(`failed: ${failed.map((r) => `${r.scenario}/${r.target}`).join(", ")}`);
if (unsafe.length) log(`AUDIT PROBLEMS: ${unsafe.map((r) => `${r.scenario}/${r.target}`).join(", ")}`);
process.exitCode = unsafe.length ? 1 : 0;
