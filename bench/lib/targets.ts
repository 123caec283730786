/**
 * The targets a scenario runs against (types.ts, TARGETS), as child processes of the run:
 * each started on a clean slate (an empty database and Redis Cluster, a new stream
 * prefix), stopped with its streams deleted.
 */
import { join } from "node:path";
import { describeExit, freePort, spawnNode, stopChild, tail, waitFor, type Child } from "./procs.ts";
import { BENCH_PORT_BASE, deleteStreamsOf, dropBenchDb, flushBenchRedis } from "./infra.ts";
import { health200, healthy, nodeEnv } from "./nodes.ts";
import { BENCH_DIR, ROOT, RUN_SCRIPT, type BenchContext } from "./context.ts";
import type { TargetName } from "./types.ts";

const BARE_SCRIPT = join(BENCH_DIR, "bare-server.ts");

export interface Running {
  base: string;
  children: Child[];
  prefix: string | null;
}

let streamSeq = 0;

/** A clean slate for one run: empty database and Redis Cluster, a new stream prefix. */
export async function freshState(ctx: BenchContext): Promise<string> {
  await dropBenchDb();
  await flushBenchRedis();
  return `BENCH${ctx.runId}_${++streamSeq}`;
}

/** A service node (scripts/run.ts) on the benchmark's services, `extra` saying what it runs. */
export function serviceNode(ctx: BenchContext, name: string, prefix: string, port: number, extra: Record<string, string>): Child {
  return spawnNode(name, RUN_SCRIPT, nodeEnv(ctx.secrets, prefix, port, extra), ctx.logDir, ROOT, ctx.nodeArgs);
}

export async function startTarget(ctx: BenchContext, target: TargetName, name: string): Promise<Running> {
  if (target === "bare") {
    const port = await freePort(BENCH_PORT_BASE);
    const child = spawnNode(`${name}-bare`, BARE_SCRIPT, { ...process.env, PORT: String(port), HOST: "127.0.0.1" }, ctx.logDir, ROOT);
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the bare server", () => healthy(base, health200), 20_000, [child]);
    return { base, children: [child], prefix: null };
  }
  const prefix = await freshState(ctx);
  const port = await freePort(BENCH_PORT_BASE + 10);
  const base = `http://127.0.0.1:${port}`;
  const children: Child[] = [];
  const running: Running = { base, children, prefix };
  try {
    if (target === "redis-1p" || target === "pg-lock") {
      const mode = target === "pg-lock" ? "pg-lock" : "redis";
      children.push(serviceNode(ctx, `${name}-${target}`, prefix, port, { TRANSPORTER: "none", INVENTORY_MODE: mode }));
    } else {
      children.push(serviceNode(ctx, `${name}-backend`, prefix, port, { TRANSPORTER: "nats", SERVICES: "inventory,orders,payments,sweeper", NODE_ID: `bench-backend-${prefix}` }));
      children.push(serviceNode(ctx, `${name}-gateway`, prefix, port, { TRANSPORTER: "nats", SERVICES: "gateway", NODE_ID: `bench-gateway-${prefix}` }));
    }
    await waitFor(`${target} /health = 200`, () => healthy(base, health200), 120_000, children, 250);
    return running;
  } catch (err) {
    await stopRunning(ctx, running);
    throw err;
  }
}

export async function stopRunning(ctx: BenchContext, r: Running): Promise<void> {
  await Promise.all(r.children.map((c) => stopChild(c)));
  const bad = r.children.filter((c) => !c.stopping || (c.exitCode !== 0 && c.exitCode !== null));
  for (const c of bad) ctx.log(`  note: ${c.name} exited (${describeExit(c)}; log: ${c.logFile})`);
  if (r.prefix) await deleteStreamsOf(ctx.secrets.natsUrl, r.prefix).catch((err: Error) => ctx.log(`  note: could not delete streams of ${r.prefix}: ${err.message}`));
}

/** A failure while the target runs: say which of its processes are gone, and show their logs. */
export function withChildren(err: Error, children: Child[]): Error {
  const dead = children.filter((c) => c.exitCode !== undefined);
  if (dead.length === 0) return err;
  const what = dead.map((c) => `${c.name} exited (${describeExit(c)}); log tail:\n${tail(c.logFile, 25)}`).join("\n");
  return new Error(`${err.message}: ${what}`);
}
