/**
 * inventory: owns the per-product shards. Every action keyed by a product is routed
 * with the Shard strategy on the product id, so one node serves one product and may
 * keep per-product memory (when it last announced a sell-out) without coordination.
 */
import type { Context } from "moleculer";
import type { Config } from "../../src/lib/config.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";
import { CallerGaveUpError, errorValue, FlashError, notFound, type ErrorValue } from "../../src/lib/errors.ts";
import { asDependencyError } from "../../src/lib/dependency-errors.ts";
import { createProductParams, lineJoinParams, lineParams, linePatchParams, productIdPathParams, reserveManyParams, restockParams, ticketRefParams } from "../../src/lib/params.ts";
import { LINE_CHANGED_EVENT, type LineChanged, type LineJoin, type LinePatch, type TicketRef } from "../../src/contracts/line.ts";
import type { Lines } from "./lines.ts";
import { jetStreamResource, ormResource, redisResource } from "../../src/lib/resources.ts";
import { inFlightOrders, streamNames } from "../../src/lib/streams.ts";
import type { ReserveMany, ReserveOutcome } from "../../src/contracts/reservation.ts";
import type { NewProduct } from "../../src/db/create-product.ts";
import { RedisInventory } from "./redis-inventory.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import { replicasPerMaster } from "./redis-replication.ts";
import type { RedisClient } from "../../src/lib/redis.ts";
import { PgLockInventory } from "./pg-lock-inventory.ts";
import type { Inventory, ReserveAnswer } from "./inventory.ts";
import { announceSoldOut, announceStockReturned } from "./stock-events.ts";
import { STOCK_RETURNED_EVENT, STOCK_TAKEN_EVENT, type ProductEvent } from "../../src/contracts/events.ts";
import { Coalescer } from "../../src/lib/coalescer.ts";

interface Meta {
  /** epoch ms after which the caller has given up: the call must not reserve anything */
  deadline?: number;
}

/**
 * A call that waited in a buffer (NATS reconnecting) past its caller's timeout: the buyer
 * already got 503, so reserving now would hold units nobody knows of.
 */
function refuseLate(meta: Meta): void {
  if (meta.deadline !== undefined && Date.now() > meta.deadline) throw new CallerGaveUpError();
}

/** Moleculer retries these (see moleculer.config.ts): a resend cannot apply twice. */
const idempotent = { retryPolicy: { enabled: true } };

const byProductId = { strategy: "Shard", strategyOptions: { shardKey: "product_id" } };
const byId = { strategy: "Shard", strategyOptions: { shardKey: "id" } };
const orderRef = {
  $$strict: "remove",
  product_id: { type: "number", integer: true, positive: true, convert: true },
  order_id: { type: "uuid" },
} as const;

interface InventoryMethods {
  countOutcomes(productId: number, answers: ReserveAnswer[]): void;
  stepLine(productId: number): void;
}

/** How often every inventory node asks for a step of each line (the owner runs it). */
const LINE_STEP_MS = 200;

export default function inventoryService(config: Readonly<Config>): TypedServiceSchema<InventoryMethods> {
  let engine: Inventory;
  let lines: Lines | null = null;
  let lineTimer: NodeJS.Timeout | undefined;
  let stepping = false;
  let redis: RedisClient | null = null;
  const linesOf = (): Lines => {
    if (!lines) throw new FlashError("QUEUE_NOT_OPEN", "this inventory keeps no lines (INVENTORY_MODE=pg-lock)");
    return lines;
  };
  let stockTaken: Coalescer<number>;

  return {
    name: "inventory",

    actions: {
      /**
       * The reservations of one product that a gateway received together, in one call and
       * one script call: each request is answered by the reservation rule as alone (its
       * own order id, key and answer), in the order given; one request's failure is its
       * own answer (an ErrorValue), not the batch's.
       */
      reserveMany: {
        ...byProductId,
        ...idempotent,
        params: reserveManyParams,
        async handler(ctx: Context<ReserveMany, Meta>): Promise<Array<ReserveOutcome | ErrorValue>> {
          refuseLate(ctx.meta);
          const pid = ctx.params.product_id;
          const answers = await engine.reserveMany(pid, ctx.params.requests);
          this.countOutcomes(pid, answers);
          return answers.map((a) => (a instanceof Error ? errorValue(asDependencyError(a)) : a));
        },
      },
      product: {
        ...idempotent,
        ...byId,
        params: productIdPathParams,
        async handler(ctx: Context<{ id: number }>) {
          const product = await engine.product(ctx.params.id);
          if (!product) throw notFound("PRODUCT_NOT_FOUND", `product ${ctx.params.id} does not exist`);
          return product;
        },
      },
      reservation: {
        ...idempotent,
        ...byProductId,
        params: orderRef,
        handler(ctx: Context<{ product_id: number; order_id: string }>) {
          return engine.reservation(ctx.params.product_id, ctx.params.order_id);
        },
      },
      release: {
        ...idempotent,
        ...byProductId,
        params: {
          ...orderRef,
          idempotency_key: { type: "string", optional: true, nullable: true },
          forget_idempotency_key: { type: "boolean", optional: true },
        },
        handler(ctx: Context<{ product_id: number; order_id: string; idempotency_key?: string | null; forget_idempotency_key?: boolean }>) {
          const p = ctx.params;
          return engine.release(p.product_id, p.order_id, p.idempotency_key ?? null, p.forget_idempotency_key ?? false);
        },
      },
      commit: {
        ...idempotent,
        ...byProductId,
        params: orderRef,
        handler(ctx: Context<{ product_id: number; order_id: string }>) {
          return engine.commit(ctx.params.product_id, ctx.params.order_id);
        },
      },
      rebuild: {
        ...byProductId,
        params: { product_id: { type: "number", integer: true, positive: true, convert: true } },
        async handler(ctx: Context<{ product_id: number }>) {
          if (!(await engine.load(ctx.params.product_id, true))) {
            throw notFound("PRODUCT_NOT_FOUND", `product ${ctx.params.product_id} does not exist`);
          }
          return engine.shardState(ctx.params.product_id);
        },
      },
      shard: {
        ...idempotent,
        ...byProductId,
        params: { product_id: { type: "number", integer: true, positive: true, convert: true } },
        async handler(ctx: Context<{ product_id: number }>) {
          // node_id: the inventory node that owns the product now (the Shard strategy's pick)
          return { ...(await engine.shardState(ctx.params.product_id)), node_id: this.broker.nodeID };
        },
      },
      holders: {
        ...idempotent,
        ...byProductId,
        params: { product_id: { type: "number", integer: true, positive: true, convert: true } },
        handler(ctx: Context<{ product_id: number }>) {
          return engine.holders(ctx.params.product_id);
        },
      },
      due: {
        ...idempotent,
        ...byProductId,
        params: {
          product_id: { type: "number", integer: true, positive: true, convert: true },
          before: { type: "number", integer: true },
          limit: { type: "number", integer: true, positive: true, max: 10_000, optional: true },
        },
        handler(ctx: Context<{ product_id: number; before: number; limit?: number }>) {
          return engine.dueReservations(ctx.params.product_id, ctx.params.before, ctx.params.limit ?? 500);
        },
      },
      products: {
        handler() {
          return engine.knownProducts();
        },
      },
      // the product's line (src/contracts/line.ts), on the node that owns the product
      lineJoin: {
        ...byProductId,
        params: lineJoinParams,
        handler(ctx: Context<LineJoin>) {
          return linesOf().join(ctx.params.product_id, ctx.params.user_id);
        },
      },
      lineTicket: {
        ...idempotent,
        ...byProductId,
        params: ticketRefParams,
        handler(ctx: Context<TicketRef>) {
          return linesOf().ticket(ctx.params.product_id, ctx.params.ticket_id);
        },
      },
      lineLeave: {
        ...idempotent,
        ...byProductId,
        params: ticketRefParams,
        handler(ctx: Context<TicketRef>) {
          return linesOf().leave(ctx.params.product_id, ctx.params.ticket_id);
        },
      },
      line: {
        ...idempotent,
        ...byProductId,
        params: lineParams,
        handler(ctx: Context<{ product_id: number }>) {
          return linesOf().line(ctx.params.product_id);
        },
      },
      linePatch: {
        ...byProductId,
        params: linePatchParams,
        handler(ctx: Context<LinePatch>) {
          const { product_id, ...change } = ctx.params;
          return linesOf().patch(product_id, change);
        },
      },
      /** One admission step (the admission timer of every inventory node calls it; the owner runs it). */
      lineStep: {
        ...byProductId,
        visibility: "public",
        params: lineParams,
        async handler(ctx: Context<{ product_id: number }>) {
          return (await linesOf().step(ctx.params.product_id)) !== null;
        },
      },
      createProduct: {
        params: createProductParams,
        handler(ctx: Context<NewProduct>) {
          return engine.createProduct(ctx.params);
        },
      },
      restock: {
        ...byId,
        params: restockParams,
        async handler(ctx: Context<{ id: number; add: number }>) {
          const product = await engine.restock(ctx.params.id, ctx.params.add);
          if (!product) throw notFound("PRODUCT_NOT_FOUND", `product ${ctx.params.id} does not exist`);
          return product;
        },
      },
      seedDemo: {
        visibility: "public",
        handler() {
          return engine.seedDemo();
        },
      },
      health: {
        ...idempotent,
        async handler() {
          return { redis: (await engine.ping()) ? "up" : "down" };
        },
      },
      refreshMetrics: {
        async handler() {
          if (!redis) return false;
          const masters = await replicasPerMaster(redis);
          // a master gone from the topology must not keep its last value
          (this.broker.metrics.getMetric(METRIC.redisMasterReplicas) as unknown as { clear(): void } | null)?.clear();
          for (const m of masters) this.broker.metrics.set(METRIC.redisMasterReplicas, m.replicas, { master: m.master });
          return true;
        },
      },
    },

    events: {
      [STOCK_RETURNED_EVENT](ctx: Context<ProductEvent>) {
        engine?.stockReturned(ctx.params.product_id);
        // units back go to the line first (rule 3): step it now, not at the next tick
        if (lines) this.stepLine(ctx.params.product_id);
      },
    },

    methods: {
      /** One step of a product's line, on the node that owns it (a failure is the next tick's to retry). */
      stepLine(productId: number) {
        this.broker.call("inventory.lineStep", { product_id: productId }).catch((err: Error) =>
          this.logger.debug(`line step of product ${productId}: ${err.message}`));
      },
      /** flash_reservations_total by outcome, and the live product streams told that units were taken */
      countOutcomes(productId: number, answers: ReserveAnswer[]) {
        let reserved = 0;
        let replayed = 0;
        for (const o of answers) {
          if (o instanceof Error) continue;
          if (!o.ok) this.broker.metrics.increment(METRIC.reservations, { outcome: o.code });
          else if (o.replayed) replayed++;
          else reserved++;
        }
        if (reserved > 0) {
          this.broker.metrics.increment(METRIC.reservations, { outcome: "reserved" }, reserved);
          stockTaken.touch(productId);
        }
        if (replayed > 0) this.broker.metrics.increment(METRIC.reservations, { outcome: "replayed" }, replayed);
      },
    },

    async started() {
      stockTaken = new Coalescer(config.productUpdateIntervalMs, (productId) =>
        this.broker.broadcast(STOCK_TAKEN_EVENT, { product_id: productId } satisfies ProductEvent),
      );
      this.broker.metrics.register({
        name: METRIC.reservations, type: "counter", labelNames: ["outcome"],
        description: "Answers to reservation requests, by outcome (reserved, replayed, SOLD_OUT, ...)",
      });
      // requests / batches = the mean micro-batch size of reserveBatch-8.lua
      this.broker.metrics.register({ name: METRIC.reserveBatches, type: "counter", description: "reserveBatch script calls" });
      this.broker.metrics.register({ name: METRIC.reserveBatched, type: "counter", description: "Reservation requests sent in those calls" });
      this.broker.metrics.register({ name: METRIC.shardLoads, type: "counter", description: "Product shards built from PostgreSQL and the stream (creation, restock, rebuild after a loss)" });
      this.broker.metrics.register({
        name: METRIC.redisMasterReplicas, type: "gauge", labelNames: ["master"],
        description: "Replicas connected to each Redis master of the inventory store",
      });
      const orm = await ormResource.acquire(config);
      if (config.inventoryMode === "pg-lock") {
        engine = new PgLockInventory(config, orm);
        return;
      }
      const store = await redisResource.acquire(config);
      redis = store.redis;
      const { scripts, replicated } = store;
      const { js, jsm, connected } = await jetStreamResource.acquire(config);
      const streams = streamNames(config.streamPrefix);
      engine = new RedisInventory({
        config, redis, scripts, replicated, orm, js, streamConnected: connected, streams,
        onStockReturned: (productId) => announceStockReturned(this.broker, productId),
        onSoldOut: (productId, rules) => announceSoldOut(this.broker, productId, rules),
        onLoad: () => this.broker.metrics.increment(METRIC.shardLoads),
        onBatch: (size) => {
          this.broker.metrics.increment(METRIC.reserveBatches);
          this.broker.metrics.increment(METRIC.reserveBatched, undefined, size);
        },
        inFlight: (productId) => inFlightOrders(jsm, streams, productId),
        onLineChanged: (change) => void this.broker.broadcast(LINE_CHANGED_EVENT, change satisfies LineChanged),
      });
      lines = (engine as RedisInventory).lines;
      // every node asks for every line's step; the Shard strategy sends each to its product's owner
      lineTimer = setInterval(() => {
        if (stepping) return;
        stepping = true;
        linesOf().products()
          .then((ids) => { for (const id of ids) this.stepLine(id); })
          .catch((err: Error) => this.logger.debug(`line products: ${err.message}`))
          .finally(() => (stepping = false));
      }, LINE_STEP_MS);
      lineTimer.unref();
    },

    async stopped() {
      if (lineTimer) clearInterval(lineTimer);
      if (config.inventoryMode === "pg-lock") return ormResource.release(config);
      await Promise.all([redisResource.release(config), ormResource.release(config), jetStreamResource.release(config)]);
    },
  };
}
