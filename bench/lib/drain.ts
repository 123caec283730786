/**
 * The drain scenario: a node with gateway,inventory,payments,sweeper (no orders service)
 * takes N buyers, so N reservations wait in the JetStream work queue; then an orders-only
 * node starts, and the rows in `orders` are counted every 50 ms until all N are there.
 * Measured on redis-nats only: the other targets have no stream to drain, or no second node.
 */
import { performance } from "node:perf_hooks";
import { freePort, sleep, tail, waitFor } from "./procs.ts";
import { BENCH_PORT_BASE, dbClient } from "./infra.ts";
import { healthy } from "./nodes.ts";
import { Admin } from "./service.ts";
import { checksAfter } from "./checks.ts";
import { cpuSince, cpuSnap } from "./measure.ts";
import { freshState, serviceNode, stopRunning, withChildren, type Running } from "./targets.ts";
import { orderLoad, product } from "./scenarios.ts";
import type { BenchContext } from "./context.ts";
import type { DrainResult, RunRecord, TargetName } from "./types.ts";

export async function runDrain(ctx: BenchContext, target: TargetName, rec: RunRecord, productCount: number): Promise<void> {
  const { sizes, log } = ctx;
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
  const prefix = await freshState(ctx);
  rec.stream_prefix = prefix;
  const port = await freePort(BENCH_PORT_BASE + 10);
  const base = `http://127.0.0.1:${port}`;
  const running: Running = { base, children: [], prefix };
  const db = { client: null as Awaited<ReturnType<typeof dbClient>> | null };
  try {
    running.children.push(serviceNode(ctx, `drain-front`, prefix, port, { TRANSPORTER: "nats", SERVICES: "gateway,inventory,payments,sweeper", NODE_ID: `bench-front-${prefix}` }));
    // no orders service yet: /health says db "down" (503), but inventory answers
    await waitFor("drain front node (redis up)", () => healthy(base, (_s, b) => b.redis === "up"), 120_000, running.children, 250);
    const admin = new Admin(base, ctx.secrets.adminToken);
    // enough stock everywhere: every buyer wins, so N orders wait in the stream
    const perProduct = productCount === 1 ? sizes.drain.units : Math.ceil((3 * sizes.drain.units) / productCount);
    const ids = await admin.createProducts(productCount, (i) => product(ctx, `drain-${i + 1}`, perProduct));
    const tag = `b${ctx.runId}d${productCount}`;
    const cpu0 = await cpuSnap(running.children);
    const run = await orderLoad(ctx, `drain / ${target} (buying, orders stopped)`, base, sizes.drain.units, sizes.drain.connections, 1, ids, tag, false);
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
    const ordersNode = serviceNode(ctx, `drain-orders`, prefix, port, { TRANSPORTER: "nats", SERVICES: "orders", NODE_ID: `bench-orders-${prefix}` });
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
    rec.checks = await checksAfter(ctx, admin, prefix, ids, accepted, ids.length <= 10);
    log(`  drain / ${target}: audit ok=${rec.checks.audit_ok}, drained=${rec.checks.drained}, units 202=${rec.checks.accepted_units} DB=${rec.checks.db_units}`);
    rec.status = tDone === null ? "failed" : "ok";
    if (tDone === null) rec.reason = `not drained within ${sizes.drain_timeout_seconds} s`;
  } catch (err) {
    throw withChildren(err as Error, running.children);
  } finally {
    await db.client?.end().catch(() => undefined);
    await stopRunning(ctx, running);
  }
}
