/**
 * sweeper: time. Expires unpaid orders, settles reservations whose order never reached
 * the database (or whose inventory step was lost), and audits every invariant.
 * Safe to run on many nodes at once: every step is a conditional update or an
 * idempotent script. "Now" is a parameter of `sweep`, so tests need no clock.
 */
import type { Context } from "moleculer";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Config } from "../../src/lib/config.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";
import { jetStreamResource, ormResource } from "../../src/lib/resources.ts";
import { applyInventoryEffects } from "../../src/contracts/inventory-effects.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { expireOrders } from "../../src/db/expire-orders.ts";
import { settleOrphan } from "../../src/db/settle-orphan.ts";
import { orderTotals } from "../../src/db/order-totals.ts";
import { mapLimit } from "../../src/lib/concurrency.ts";
import { auditProduct, type ShardReading } from "../../src/domain/audit.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";
import type { AuditReport, ProductAudit, SweepReport } from "../../src/contracts/reports.ts";
import { METRIC } from "../../src/lib/metrics.ts";

const BATCH = 500;
/** shard readings of the audit in flight at once (one call per product) */
const AUDIT_PARALLEL = 16;
/** the audit behind flash_audit_ok is rerun at a scrape only when older than this (it reads every shard) */
const AUDIT_METRIC_MAX_AGE_MS = 30_000;

interface SweeperMethods {
  sweep(now: number): Promise<SweepReport>;
  audit(productId: number | null): Promise<AuditReport>;
}

export default function sweeperService(config: Readonly<Config>): TypedServiceSchema<SweeperMethods> {
  let orm: MikroORM;
  let jsm: JetStreamManager;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | null = null;
  let lastAuditAt = 0;
  let metricAudit: Promise<unknown> | null = null;
  const names = streamNames(config.streamPrefix);

  return {
    name: "sweeper",

    actions: {
      sweep: {
        params: { now: { type: "number", integer: true, optional: true } },
        handler(ctx: Context<{ now?: number }>): Promise<SweepReport> {
          return this.sweep(ctx.params.now ?? Date.now());
        },
      },
      audit: {
        params: { product_id: { type: "number", integer: true, positive: true, convert: true, optional: true } },
        handler(ctx: Context<{ product_id?: number }>): Promise<AuditReport> {
          return this.audit(ctx.params.product_id ?? null);
        },
      },
      refreshMetrics: {
        async handler() {
          if (Date.now() - lastAuditAt < AUDIT_METRIC_MAX_AGE_MS) return true;
          metricAudit ??= this.audit(null).finally(() => (metricAudit = null));
          await metricAudit;
          return true;
        },
      },
    },

    methods: {
      async sweep(now: number): Promise<SweepReport> {
        const report: SweepReport = { expired: 0, released: 0, committed: 0, orphans: 0 };

        // 1. pending orders past their expiry
        for (;;) {
          const effects = await orm.em.fork().transactional((em) => expireOrders(em, new Date(now), BATCH));
          await applyInventoryEffects(this.broker, effects);
          report.expired += effects.length;
          report.released += effects.length;
          if (effects.length < BATCH) break;
        }

        // 2. reservations still held in a shard well past their expiry: settle them from the database
        const before = now - config.orphanGraceSeconds * 1000;
        const products = await this.broker.call<number[], object>("inventory.products", {});
        for (const productId of products) {
          const due = await this.broker.call<ReservationRecord[], object>(
            "inventory.due", { product_id: productId, before, limit: BATCH },
          );
          for (const r of due) {
            const status = await orm.em.fork().transactional((em) => settleOrphan(em, r));
            if (status === "pending" || status === "unknown_product") continue; // step 1 expires a pending one
            if (status === "expired") report.orphans++;
            const kind = status === "paid" ? "commit" : "release";
            await applyInventoryEffects(this.broker, [{ kind, product_id: productId, order_id: r.order_id }]);
            if (kind === "commit") report.committed++;
            else report.released++;
          }
        }
        return report;
      },

      async audit(productId: number | null): Promise<AuditReport> {
        // The pipeline before and after the two reads: the drained-only invariants are
        // checked only when no order was in flight, and none entered, all along.
        const pipeline = () => jsm.consumers.info(names.orders, names.ordersConsumer).catch(() => null);
        const before = await pipeline();
        const totals = await orderTotals(orm.em.fork(), productId === null ? null : [productId]);
        const shards = await mapLimit([...totals.keys()], AUDIT_PARALLEL, (id) =>
          this.broker.call<ShardReading, object>("inventory.shard", { product_id: id }),
        );
        const [after, dlq] = await Promise.all([pipeline(), jsm.streams.info(names.deadLetter).catch(() => null)]);
        const inFlight = after ? after.num_pending + after.num_ack_pending : -1;
        const drained = inFlight === 0 && before !== null && before.num_pending + before.num_ack_pending === 0 &&
          before.delivered.stream_seq === after!.delivered.stream_seq;
        const products: ProductAudit[] = [...totals].map(([id, db], i) => auditProduct(id, shards[i], db, drained));
        const deadLetters = dlq?.state.messages ?? 0;
        const ok = products.every((p) => p.consistent) && deadLetters === 0;
        if (productId === null) {
          // every whole audit (the admin's too) is the verdict Prometheus sees
          lastAuditAt = Date.now();
          this.broker.metrics.set(METRIC.auditOk, ok ? 1 : 0);
          this.broker.metrics.set(METRIC.auditInconsistentProducts, products.filter((p) => !p.consistent).length);
        }
        return { ok, products, pipeline: { drained, in_flight: inFlight, dead_letters: deadLetters } };
      },
    },

    async started() {
      this.broker.metrics.register({ name: METRIC.auditOk, type: "gauge", description: "1 when the last whole audit found every invariant holding and no dead letters, else 0" });
      this.broker.metrics.register({ name: METRIC.auditInconsistentProducts, type: "gauge", description: "Products the last whole audit found inconsistent" });
      orm = await ormResource.acquire(config);
      jsm = (await jetStreamResource.acquire(config)).jsm;
      timer = setInterval(() => {
        if (running) return;
        running = this.sweep(Date.now())
          .catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`))
          .finally(() => (running = null));
      }, config.sweepIntervalMs);
      timer.unref();
    },

    async stopped() {
      if (timer) clearInterval(timer);
      await running;
      await Promise.all([ormResource.release(config), jetStreamResource.release(config)]);
    },
  };
}
