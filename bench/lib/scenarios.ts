/**
 * The load scenarios (seed, drop, winners, many: types.ts, SCENARIOS; the drain is
 * drain.ts): each on a target of its own, warmed up, loaded with order requests, its
 * cost measured and, on a service target, its checks run. Also the two loads around
 * them: the bare ceilings that choose the load generator, and the drop against a stack
 * somebody else runs (--against).
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { runLoad } from "./load.ts";
import { drive, GENERATORS, type Driven } from "./drive.ts";
import { Admin, type NewProduct } from "./service.ts";
import { redisCommandCalls, transactionsSettled } from "./infra.ts";
import { checksAfter } from "./checks.ts";
import { cpuSince, cpuSnap, logBatches, logCpu, logRedisCommands } from "./measure.ts";
import { startTarget, stopRunning, withChildren, type Running } from "./targets.ts";
import type { BenchContext } from "./context.ts";
import { TARGETS, type BenchResult, type RunRecord, type ScenarioName, type TargetName } from "./types.ts";

export const product = (ctx: BenchContext, name: string, stock: number): NewProduct => ({
  name,
  price_cents: 49_900,
  stock,
  per_user_limit: ctx.sizes.per_user_limit,
  max_per_order: ctx.sizes.max_per_order,
});

/** Order requests with the run's generator, every one a new buyer. */
export function orderLoad(ctx: BenchContext, label: string, base: string, amount: number, connections: number, qty: number, products: number[], tag: string, phases: boolean): Promise<Driven> {
  return drive(ctx.generator, {
    label, url: base, amount, connections, maxSeconds: ctx.sizes.max_load_seconds, qty, products, tag, phases,
    idempotencyKeys: ctx.idempotencyKeys,
    progress: (line) => ctx.log(`  ${line}`),
  });
}

async function warmUp(ctx: BenchContext, r: Running, target: TargetName, tag: string): Promise<void> {
  const w = ctx.sizes.warmup;
  let pid = 1;
  if (target !== "bare") pid = await new Admin(r.base, ctx.secrets.adminToken).createProduct(product(ctx, "warm-up", w.stock));
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

interface LoadPlan {
  products: NewProduct[];
  amount: number;
  connections: number;
  qty: number;
  phases: boolean;
  readStock: boolean;
}

/** One product, distinct buyers of one unit each: the drop (it sells out) or winners only (it does not). */
function oneProduct(ctx: BenchContext, name: string, size: { units: number; buyers: number; connections: number }, phases: boolean): LoadPlan {
  return { products: [product(ctx, name, size.units)], amount: size.buyers, connections: size.connections, qty: 1, phases, readStock: true };
}

function planFor(ctx: BenchContext, sc: Exclude<ScenarioName, "drain">): LoadPlan {
  const sizes = ctx.sizes;
  switch (sc) {
    case "seed":
      return {
        products: [product(ctx, "seed-compatible", sizes.seed.stock)],
        amount: sizes.seed.requests,
        connections: sizes.seed.connections,
        qty: sizes.seed.qty,
        phases: false,
        readStock: true,
      };
    case "drop":
      return oneProduct(ctx, "the drop", sizes.drop, true);
    case "winners":
      return oneProduct(ctx, "winners only", sizes.winners, false);
    case "many":
      return {
        products: Array.from({ length: sizes.many.products }, (_, i) => product(ctx, `many-${i + 1}`, sizes.many.stock)),
        amount: sizes.many.requests,
        connections: sizes.many.connections,
        qty: 1,
        phases: false,
        readStock: false,
      };
  }
}

export async function runLoadScenario(ctx: BenchContext, sc: Exclude<ScenarioName, "drain">, target: TargetName, rec: RunRecord): Promise<void> {
  const { log } = ctx;
  const plan = planFor(ctx, sc);
  const name = `${sc}-${target}`;
  const tag = `b${ctx.runId}${sc[0]}${TARGETS.indexOf(target)}`;
  log(`${sc} / ${target}: starting`);
  const running = await startTarget(ctx, target, name);
  rec.stream_prefix = running.prefix ?? undefined;
  try {
    const admin = new Admin(running.base, ctx.secrets.adminToken);
    await warmUp(ctx, running, target, tag);
    let ids: number[];
    if (target === "bare") ids = plan.products.map((_, i) => i + 1);
    else {
      const c0 = performance.now();
      ids = await admin.createProducts(plan.products.length, (i) => plan.products[i]);
      if (plan.products.length > 10) log(`  ${sc} / ${target}: created ${ids.length} products in ${((performance.now() - c0) / 1000).toFixed(1)} s`);
    }

    const cpu0 = await cpuSnap(running.children);
    const redis0 = target === "bare" ? null : await redisCommandCalls();
    const run = await orderLoad(ctx, `${sc} / ${target}`, running.base, plan.amount, plan.connections, plan.qty, ids, tag, plan.phases);
    rec.cpu_s = await cpuSince(cpu0, running.children, run.duration_ms, run.generator === "wrk" ? run.generator_cpu_s : undefined);
    logCpu(log, `${sc} / ${target}`, rec.cpu_s, run.completed);
    if (redis0) {
      await logBatches(log, `${sc} / ${target}`, running.base);
      await logRedisCommands(log, `${sc} / ${target}`, redis0, run.completed);
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
        const waited = await transactionsSettled(ctx.sizes.drain_timeout_seconds * 1000);
        log(`  ${sc} / ${target}: stopped at the time limit: the requests it had read ended ${(waited / 1000).toFixed(1)} s later (no open transaction in the database)`);
      }
      rec.checks = await checksAfter(ctx, admin, running.prefix, ids, accepted * plan.qty, plan.readStock);
      const c = rec.checks;
      log(
        `  ${sc} / ${target}: audit ok=${c.audit_ok}, drained=${c.drained}${c.drained_after_load_s !== null ? ` (+${c.drained_after_load_s} s)` : ""}, oversold=${c.oversold.length}, units 202=${c.accepted_units} DB=${c.db_units} stock=${c.stock_units}`,
      );
    }
    rec.status = "ok";
  } catch (err) {
    throw withChildren(err as Error, running.children);
  } finally {
    await stopRunning(ctx, running);
  }
}

/**
 * The load generator must not be the bottleneck: the bare server's ceiling is measured
 * with each generator (the drop's size and connections), and the one that reaches the
 * higher drives every scenario of the run (it is left in ctx.generator).
 */
export async function chooseGenerator(ctx: BenchContext): Promise<NonNullable<BenchResult["generators"]>> {
  const { sizes, runId, log } = ctx;
  const ceilings: NonNullable<BenchResult["generators"]>["ceilings"] = [];
  const bare = await startTarget(ctx, "bare", "ceiling");
  try {
    for (const g of GENERATORS) {
      ctx.generator = g;
      await warmUp(ctx, bare, "bare", `c${runId}w${g}`);
      const r = await orderLoad(ctx, `bare ceiling / ${g}`, bare.base, sizes.drop.buyers, sizes.drop.connections, 1, [1], `c${runId}${g}`, false);
      ceilings.push({ generator: g, rps: r.all.rps, generator_cpu_s: r.generator_cpu_s, wall_s: Math.round(r.duration_ms / 100) / 10 });
      log(`  bare ceiling with ${g}: ${r.all.rps} req/s, the generator used ${r.generator_cpu_s} CPU s in ${(r.duration_ms / 1000).toFixed(1)} s`);
    }
  } finally {
    await stopRunning(ctx, bare);
  }
  const best = ceilings.reduce((a, b) => (b.rps > a.rps ? b : a));
  ctx.generator = best.generator;
  log(`load generator: ${ctx.generator} (the higher bare ceiling)`);
  return { chosen: ctx.generator, ceilings };
}

/** The drop only, against a stack someone else runs: create the product, drive, report. Resolves with the exit code (1: oversold). */
export async function dropAgainst(ctx: BenchContext, url: string, token: string): Promise<number> {
  const { sizes, log } = ctx;
  const base = url.replace(/\/$/, "");
  const admin = new Admin(base, token);
  const id = await admin.createProduct(product(ctx, "the drop (--against)", sizes.drop.units));
  log(`drop against ${base}: product ${id}, ${sizes.drop.units} units, ${sizes.drop.buyers} buyers, c=${sizes.drop.connections}, generator ${ctx.generator}`);
  const r = await orderLoad(ctx, `drop / ${base}`, base, sizes.drop.buyers, sizes.drop.connections, 1, [id], `a${ctx.runId}`, true);
  const a = r.all;
  log(`drop / ${base}: ${a.requests} responses in ${a.duration_s} s = ${a.rps} req/s, p50 ${a.latency_ms.p50} ms, p99 ${a.latency_ms.p99} ms, statuses ${JSON.stringify(a.status)}; the generator used ${r.generator_cpu_s} CPU s`);
  if (r.phases) log(`  winners ${r.phases.winners.rps} req/s until ${r.phases.sold_out_at_s} s; sold out ${r.phases.sold_out?.rps ?? "–"} req/s`);
  const sold = (await admin.stockAvailable(id)) ?? 0;
  log(`  202s: ${r.accepted} for ${sizes.drop.units} units; stock left ${sold}${r.accepted + sold > sizes.drop.units ? " — OVERSOLD" : ""}`);
  return r.accepted + sold > sizes.drop.units ? 1 : 0;
}
