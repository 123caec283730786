/**
 * The checks after a load on a service target: wait (bounded) until the order pipeline
 * has drained, then audit: nothing oversold, and the units the clients were promised
 * (202 × qty) are the units PostgreSQL holds.
 */
import { performance } from "node:perf_hooks";
import { PipelineProbe } from "./infra.ts";
import { sleep } from "./procs.ts";
import type { Admin } from "./service.ts";
import type { BenchContext } from "./context.ts";
import type { Checks } from "./types.ts";

/** Waits (bounded) until the orders consumer has nothing pending, watching JetStream, not the service. */
async function waitDrained(ctx: BenchContext, prefix: string | null): Promise<number | null> {
  if (!prefix) return null;
  const probe = await PipelineProbe.open(ctx.secrets.natsUrl, prefix);
  const w0 = performance.now();
  try {
    const deadline = w0 + ctx.sizes.drain_timeout_seconds * 1000;
    let lastLog = w0;
    for (;;) {
      const n = await probe.inFlight();
      const now = performance.now();
      if (n === 0) return now - w0;
      if (now > deadline) return null;
      if (now - lastLog > 5000) {
        lastLog = now;
        ctx.log(`  waiting for the pipeline: ${n} orders still in flight to PostgreSQL`);
      }
      await sleep(100);
    }
  } finally {
    await probe.close();
  }
}

export async function checksAfter(ctx: BenchContext, admin: Admin, prefix: string | null, productIds: number[], acceptedUnits: number, readStock: boolean): Promise<Checks> {
  const drainedMs = await waitDrained(ctx, prefix).catch((err: Error) => {
    ctx.log(`  note: could not watch the pipeline in JetStream (${err.message}); polling the audit instead`);
    return undefined;
  });
  const polled = drainedMs === undefined ? await admin.auditWhenDrained(ctx.sizes.drain_timeout_seconds * 1000) : null;
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
