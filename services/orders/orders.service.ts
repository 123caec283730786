/**
 * orders: owns the `orders` table and the order state machine. Consumes the
 * `order.reserved` stream in batches with explicit acks: a batch is written in one
 * transaction (idempotent on the order id, through the database gate), and only
 * then acknowledged. Orders the gate refused give their units back to the shard.
 */
import type { Context } from "moleculer";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JsMsg, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Config } from "../../src/lib/config.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";
import { FlashError, notFound, UnavailableError } from "../../src/lib/errors.ts";
import { isDatabaseUnavailable } from "../../src/lib/db.ts";
import { orderIdPathParams } from "../../src/lib/params.ts";
import { jetStreamResource, ormResource } from "../../src/lib/resources.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { DurableConsumer } from "../../src/lib/jetstream-consumer.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import { productIdOfOrder } from "../../src/domain/order-id.ts";
import { decodeOrderMessages, encodeOrdersMessage } from "../../src/domain/order-message.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";
import { STORED_ORDER_STATUSES, type OrderView } from "../../src/contracts/order-view.ts";
import { ORDERS_PERSISTED_EVENT, type OrdersEvent } from "../../src/contracts/events.ts";
import type { PipelineReading } from "../../src/contracts/reports.ts";
import { findOrder, reservationUnlessWritten } from "../../src/db/find-order.ts";
import { persistOrders, type PersistResult } from "../../src/db/persist-orders.ts";
import { applyInventoryEffects } from "../../src/contracts/inventory-effects.ts";
import { cancelOrder } from "../../src/db/cancel-order.ts";
import { settleOrphan } from "../../src/db/settle-orphan.ts";

interface OrdersMethods {
  persistBatch(msgs: JsMsg[]): Promise<PersistResult>;
}

export default function ordersService(config: Readonly<Config>): TypedServiceSchema<OrdersMethods> {
  let orm: MikroORM;
  let nc: NatsConnection;
  let consumer: DurableConsumer | undefined;
  let jsm: JetStreamManager;
  const names = streamNames(config.streamPrefix);

  return {
    name: "orders",

    actions: {
      get: {
        retryPolicy: { enabled: true },
        params: orderIdPathParams,
        async handler(ctx: Context<{ id: string }>): Promise<OrderView> {
          const id = ctx.params.id.toLowerCase();
          // PostgreSQL down: an order still held by its shard is answered from there
          let dbDown = false;
          const row = await findOrder(orm.em.fork(), id).catch((err: unknown) => {
            if (!isDatabaseUnavailable(err)) throw err;
            dbDown = true;
            return null;
          });
          if (row) return row;
          // Not in the database yet: the 202 was sent, the row is on its way.
          const productId = productIdOfOrder(id);
          if (productId !== null) {
            const held = await ctx.call<ReservationRecord | null, object>("inventory.reservation", { product_id: productId, order_id: id });
            if (held) {
              return {
                order_id: held.order_id, status: "reserved", product_id: held.product_id, qty: held.qty,
                user_id: held.user_id, amount_cents: held.amount_cents, created_at: held.created_at,
                updated_at: held.created_at, expires_at: held.expires_at,
              };
            }
            // written between our two reads?
            const late = dbDown ? null : await findOrder(orm.em.fork(), id);
            if (late) return late;
          }
          if (dbDown) throw new UnavailableError("the order database is unavailable", "db", 2);
          throw notFound("ORDER_NOT_FOUND", `order ${id} does not exist`);
        },
      },
      cancel: {
        // idempotent: a resend after a lost answer cancels nothing more and answers the same
        retryPolicy: { enabled: true },
        params: orderIdPathParams,
        async handler(ctx: Context<{ id: string }>): Promise<OrderView> {
          const id = ctx.params.id.toLowerCase();
          const productId = productIdOfOrder(id);
          if (productId === null) throw notFound("ORDER_NOT_FOUND", `order ${id} does not exist`);
          const held = await reservationUnlessWritten(orm.em.fork(), id, () =>
            ctx.call<ReservationRecord | null, object>("inventory.reservation", { product_id: productId, order_id: id }));
          const result = await orm.em.fork().transactional((em) => cancelOrder(em, id, productId, held));
          if (result.outcome === "not_found") throw notFound("ORDER_NOT_FOUND", `order ${id} does not exist`);
          if (result.outcome === "not_cancellable") {
            throw new FlashError("ORDER_NOT_CANCELLABLE", `order ${id} is ${result.order.status} and cannot be cancelled`, {
              status: result.order.status,
            });
          }
          // also on a repeated cancel: a release lost after the first one's commit is redone (idempotent)
          await applyInventoryEffects(this.broker, [result.effect]);
          return result.order;
        },
      },
      release: {
        params: orderIdPathParams,
        async handler(ctx: Context<{ id: string }>) {
          const id = ctx.params.id.toLowerCase();
          const productId = productIdOfOrder(id);
          if (productId === null) throw notFound("ORDER_NOT_FOUND", `order ${id} does not exist`);
          // a row first: pending becomes cancelled (a reservation without a row is not cancelled: written off below)
          const result = await orm.em.fork().transactional((em) => cancelOrder(em, id, productId, null));
          if (result.outcome === "cancelled") {
            await applyInventoryEffects(this.broker, [result.effect]);
            return { order_id: id, released: true, status: "cancelled" };
          }
          if (result.outcome === "not_cancellable") return { order_id: id, released: false, status: result.order.status };
          // not in the database: a reservation only; write it off as expired, then free its units
          const held = await ctx.call<ReservationRecord | null, object>("inventory.reservation", { product_id: productId, order_id: id });
          if (!held) throw notFound("ORDER_NOT_FOUND", `order ${id} does not exist`);
          const status = await orm.em.fork().transactional((em) => settleOrphan(em, held));
          if (status === "pending") return { order_id: id, released: false, status: "pending", retry: true };
          await applyInventoryEffects(this.broker, [{ kind: status === "paid" ? "commit" : "release", product_id: held.product_id, order_id: id }]);
          return { order_id: id, released: status !== "paid", status };
        },
      },
      health: {
        async handler() {
          const db = await orm.em.fork().execute("select 1").then(() => "up", () => "down");
          const nats = nc.isClosed() ? "down" : await nc.flush().then(() => "up", () => "down");
          return { db, nats };
        },
      },
      refreshMetrics: {
        async handler(): Promise<PipelineReading> {
          const rows = await orm.em.fork().execute<Array<{ status: string; n: number }>>(
            "select status, count(*)::int as n from orders group by status",
          );
          const byStatus: Record<string, number> = {};
          for (const status of STORED_ORDER_STATUSES) {
            byStatus[status] = rows.find((r) => r.status === status)?.n ?? 0;
            this.broker.metrics.set(METRIC.ordersByStatus, byStatus[status], { status });
          }
          const info = await jsm.consumers.info(names.orders, names.ordersConsumer).catch(() => null);
          const lag = info ? info.num_pending + info.num_ack_pending : null;
          if (lag !== null) this.broker.metrics.set(METRIC.streamPending, lag);
          const dlq = await jsm.streams.info(names.deadLetter).catch(() => null);
          if (dlq) this.broker.metrics.set(METRIC.deadLetters, dlq.state.messages);
          // the same readings, for the dashboard (null: the stream did not answer)
          return { orders_by_status: byStatus, stream_lag: lag, dead_letters: dlq ? dlq.state.messages : null };
        },
      },
      stats: {
        handler() {
          return consumer?.stats ?? null;
        },
      },
    },

    methods: {
      /** The consumer's handler: one transaction per batch, then give back what the gate refused. */
      async persistBatch(msgs: JsMsg[]): Promise<PersistResult> {
        const from = new Map<string, JsMsg>();
        const orders = msgs.flatMap((m) => decodeOrderMessages(m.data).map((o) => (from.set(o.order_id, m), o)));
        const result = await orm.em.fork().transactional((em) => persistOrders(em, orders));
        // a 202 order that can never be written (its key is another order's): not dropped
        // silently, but set aside where the audit and the operator see it
        for (const { order, held_by } of result.duplicates) {
          await consumer!.deadLetter(encodeOrdersMessage([order]), `order ${order.order_id} not written: its Idempotency-Key ${JSON.stringify(order.idempotency_key)} belongs to order ${held_by ?? "(unknown)"}`, `dup-${order.order_id}`, from.get(order.order_id)!);
        }
        // If this fails the batch is redelivered; the rows are already there, so the
        // sweeper settles these reservations from the orders' statuses when they expire.
        await applyInventoryEffects(this.broker, [
          ...result.rejected.map((r) => ({ kind: "release" as const, product_id: r.product_id, order_id: r.order_id })),
          ...result.duplicates.map(({ order }) => ({ kind: "release" as const, product_id: order.product_id, order_id: order.order_id })),
          ...result.effects,
        ]);
        if (result.rejected.length > 0) {
          this.logger.warn(`database gate refused ${result.rejected.length} order(s): the inventory shard over-admitted`);
        }
        if (result.inserted.length > 0) this.broker.broadcast(ORDERS_PERSISTED_EVENT, { order_ids: result.inserted } satisfies OrdersEvent);
        return result;
      },
    },

    async started() {
      orm = await ormResource.acquire(config);
      const handle = await jetStreamResource.acquire(config);
      nc = handle.nc;
      jsm = handle.jsm;
      this.broker.metrics.register({ name: METRIC.ordersByStatus, type: "gauge", labelNames: ["status"], description: "Orders in PostgreSQL by status" });
      this.broker.metrics.register({ name: METRIC.streamPending, type: "gauge", description: "order.reserved messages not yet written to PostgreSQL" });
      this.broker.metrics.register({ name: METRIC.deadLetters, type: "gauge", description: "order.reserved messages dead-lettered" });
      consumer = new DurableConsumer({
        js: handle.js,
        stream: names.orders,
        durable: names.ordersConsumer,
        batchSize: config.consumerBatchSize,
        maxWaitMs: 5,
        maxDeliver: config.consumerMaxDeliver,
        backoffMs: [100, 500, 2000, 5000, 15000],
        deadLetterSubject: names.deadLetterSubject,
        ackWaitMs: config.consumerAckWaitMs,
        logger: this.logger,
        isTransient: (err) => isDatabaseUnavailable(err) || (err as { type?: string } | null)?.type === "UNAVAILABLE",
        handler: async (msgs: JsMsg[]) => {
          await this.persistBatch(msgs);
        },
      });
      await consumer.start();
    },

    async stopped() {
      await consumer?.stop();
      await Promise.all([ormResource.release(config), jetStreamResource.release(config)]);
    },
  };
}
