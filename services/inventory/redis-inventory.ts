/**
 * The inventory on Redis shards (INVENTORY_MODE=redis): one actor per product under
 * the hash tag {<namespace>:p:<id>} (src/lib/keys.ts), changed only by the Lua scripts in ./lua, and the durable
 * hand-over of each reservation to JetStream before the buyer hears "202".
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Config } from "../../src/lib/config.ts";
import { isRedisTransient, redisReplyCode, type RedisClient, type ReplicatedScripts, type ScriptResult, type Scripts } from "../../src/lib/redis.ts";
import { MicroBatcher } from "../../src/lib/micro-batch.ts";
import { SoldOutEdge } from "../../src/lib/sold-out-edge.ts";
import { deploymentKeys, type DeploymentKeys } from "../../src/lib/keys.ts";
import { UnavailableError } from "../../src/lib/errors.ts";
import type { StreamNames } from "../../src/lib/streams.ts";
import { newOrderId, productIdOfOrder } from "../../src/domain/order-id.ts";
import { KEY_REUSED, requestHash } from "../../src/domain/reservation.ts";
import { decodeReserve, type ReserveResult } from "./reserve-reply.ts";
import { replyCode, ScriptCode } from "./script-codes.ts";
import type { OrderRequest, ReservationRecord, ReserveOutcome, SoldOutRules } from "../../src/contracts/reservation.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { ShardState } from "../../src/contracts/reports.ts";
import { publishReservations } from "../../src/lib/publish-reservation.ts";
import { productSnapshot, orderIdsInDb, type ProductRow } from "../../src/db/product-snapshot.ts";
import { createProduct, type NewProduct } from "../../src/db/create-product.ts";
import { restockProduct } from "../../src/db/restock-product.ts";
import { productView, type Inventory, type ReserveRequest } from "./inventory.ts";

export interface InventoryDeps {
  config: Readonly<Config>;
  redis: RedisClient;
  scripts: Scripts;
  /** the scripts followed by WAIT (used when config.redisMinReplicas > 0) */
  replicated?: ReplicatedScripts;
  orm: MikroORM;
  js: JetStreamClient;
  /** whether the JetStream connection is up now (a reservation is only made when it is) */
  streamConnected?: () => boolean;
  streams: StreamNames;
  now?: () => number;
  /** told when units went back to stock, so every node drops its sold-out flag */
  onStockReturned?: (productId: number) => void;
  /** told when the script first answers SOLD_OUT (again once this node's flag lapsed), so every node flags it */
  onSoldOut?: (productId: number, rules: SoldOutRules) => void;
  /** told the size of every micro-batch sent to Redis (metrics) */
  onBatch?: (size: number) => void;
  /** a product's shard was (re)built from PostgreSQL and the stream */
  onLoad?: (productId: number) => void;
  /** reservations of a product still in flight to PostgreSQL (messages not yet written) */
  inFlight?: (productId: number) => Promise<ReservationRecord[]>;
}

/** One request of a micro-batch, as reserveBatch-5.lua takes it. */
interface BatchedRequest {
  req: OrderRequest;
  orderId: string;
  hash: string;
  idempotencyKey: string | null;
}

/** A reservation the script made or replayed. */
type ReservedOutcome = Extract<ReserveOutcome, { ok: true }>;

/** A batch's answer for one request: the script's, or why it cannot be answered 202. */
type BatchedResult = ReserveResult | UnavailableError;

export class RedisInventory implements Inventory {
  readonly #d: InventoryDeps;
  readonly #now: () => number;
  readonly #keys: DeploymentKeys;
  /**
   * This node's sold-out hint (the Shard strategy routes a product to one node). Keyed
   * requests go on to the script: this node publishes their replay itself.
   */
  readonly #soldOut: SoldOutEdge;
  /** reservations of one product that arrive together go to Redis as one script call */
  readonly #batches: MicroBatcher<number, BatchedRequest, BatchedResult>;
  /** rebuilds under way, by product (see load) */
  readonly #loading = new Map<number, Promise<boolean>>();

  constructor(deps: InventoryDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#keys = deploymentKeys(deps.config.streamPrefix);
    this.#soldOut = new SoldOutEdge(deps.config.soldOutFlagMs, this.#now);
    this.#batches = new MicroBatcher((pid, items) => this.#reserveBatch(pid, items), deps.config.reserveBatchMax);
  }

  /** Forget the sold-out flag of a product (units came back). */
  stockReturned(productId: number): void {
    this.#soldOut.returned(productId);
  }

  /** Units came back here: this node and every other one put the product on sale again. */
  #unitsBack(productId: number): void {
    this.stockReturned(productId);
    this.#d.onStockReturned?.(productId);
  }

  /**
   * `orderId`: chosen by the caller (the gateway) so that a resent call — a Moleculer
   * retry after a node died, a Redis command retried through a failover — replays
   * this reservation instead of making a second one.
   */
  async reserve(req: OrderRequest, idempotencyKey: string | null, orderId: string | null = null): Promise<ReserveOutcome> {
    const pid = req.product_id;
    const hinted = this.#soldOut.answer(req, idempotencyKey);
    if (hinted !== null) {
      const answer = await hinted;
      if (answer !== null) return answer;
    }

    // NATS down: refuse before reserving anything (the hand-over could not be acknowledged)
    if (this.#d.streamConnected && !this.#d.streamConnected()) {
      throw new UnavailableError("order stream unavailable: not connected to NATS", "nats", 1);
    }
    const id = orderId !== null && productIdOfOrder(orderId) === pid ? orderId : newOrderId(pid, this.#now());
    const item: BatchedRequest = { req, orderId: id, hash: idempotencyKey ? requestHash(req) : "", idempotencyKey };
    let result = await this.#batched(pid, item);
    if ("notLoaded" in result) {
      if (!(await this.load(pid))) return { ok: false, code: "PRODUCT_NOT_FOUND", message: `product ${pid} does not exist` };
      result = await this.#batched(pid, item);
      if ("notLoaded" in result) throw new UnavailableError("inventory shard could not be loaded", "redis");
    }
    return result;
  }

  /**
   * Requests that came as one batch (a gateway's): each goes through `reserve`, and they
   * leave for Redis together now, with whatever else waits for the product, instead of
   * at the end of the turn.
   */
  reserveMany(productId: number, requests: ReserveRequest[]): Promise<Array<PromiseSettledResult<ReserveOutcome>>> {
    const all = requests.map((r) => this.reserve(r.req, r.idempotencyKey, r.orderId));
    this.#batches.flush(productId);
    return Promise.allSettled(all);
  }

  async #batched(pid: number, item: BatchedRequest): Promise<ReserveResult> {
    const r = await this.#batches.add(pid, item);
    if (r instanceof UnavailableError) throw r;
    return r;
  }

  /**
   * Applies a micro-batch of one product's reservations in one script call, one result
   * each. With REDIS_MIN_REPLICAS > 0 the call is followed by WAIT in the same pipeline: a
   * reservation that did not reach enough replicas in time is not safe from the loss of
   * its master, so it is not answered 202: its units are given back and its caller gets
   * 503 (if the master dies before that release lands, the reservation has no message on
   * the stream and the sweeper writes it off as an orphan).
   */
  async #reserveBatch(pid: number, items: BatchedRequest[]): Promise<BatchedResult[]> {
    const k = this.#keys.product(pid);
    const now = this.#now();
    const cfg = this.#d.config;
    this.#d.onBatch?.(items.length);
    const keys = [k.meta, k.stock, k.res, k.exp, k.users];
    const args: Array<string | number> = [k.idem(""), now, cfg.reservationTtlSeconds * 1000, cfg.idempotencyTtlSeconds];
    for (const it of items) args.push(it.orderId, it.req.qty, it.req.user_id ?? "", it.hash, it.idempotencyKey ?? "");
    const need = cfg.redisMinReplicas;
    let replies: ScriptResult[];
    let replicas = Infinity;
    if (need === 0 || !this.#d.replicated) {
      replies = (await this.#redis(() => this.#d.scripts.reserveBatch(keys, args))) as unknown as ScriptResult[];
    } else {
      const r = await this.#redis(() => this.#d.replicated!.reserveBatch(keys, args, need, cfg.redisWaitTimeoutMs));
      replies = r.reply as unknown as ScriptResult[];
      replicas = r.replicas;
    }
    const results: BatchedResult[] = new Array(items.length);
    const shortOfReplicas: number[] = [];
    let claims: number[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const code = replyCode(replies[i]);
      // reserved now or replayed: both are answered 202, so both must be replicated
      // (a replay may be of a reservation whose first answer was this same 503)
      if ((code === ScriptCode.reserve.RESERVED || code === ScriptCode.reserve.REPLAYED) && replicas < need) {
        results[i] = new UnavailableError(`the reservation reached ${replicas} of ${need} Redis replica(s) in time`, "redis", 1);
        if (code === ScriptCode.reserve.RESERVED) shortOfReplicas.push(i);
        continue;
      }
      let r = decodeReserve(pid, items[i].req, replies[i]);
      if ("ok" in r && r.ok) {
        // a "replay" of this very call's order id: an earlier attempt of the call was applied, its answer lost
        if (r.replayed && r.order.order_id === items[i].orderId) r = { ...r, replayed: false };
        if (!r.replayed && items[i].idempotencyKey !== null) (claims ??= []).push(i);
      }
      results[i] = r;
    }
    // the units of a reservation refused for want of replicas go back
    if (shortOfReplicas.length > 0) {
      await Promise.all(shortOfReplicas.map((i) => this.release(pid, items[i].orderId, items[i].idempotencyKey, true).catch(() => undefined)));
    }
    const soldOut = results.find((r): r is ReserveOutcome & { soldOut: SoldOutRules } =>
      !(r instanceof UnavailableError) && "code" in r && r.code === "SOLD_OUT" && r.soldOut !== undefined);
    if (soldOut && !this.#soldOut.isSoldOut(pid)) {
      this.#soldOut.soldOut(pid, soldOut.soldOut, now);
      this.#d.onSoldOut?.(pid, soldOut.soldOut);
    }
    // a keyed reservation claims its key; one request's failure is its own 503, not its batch's
    if (claims !== undefined) {
      await Promise.all(claims.map(async (i) => {
        results[i] = await this.#claimKey(pid, items[i], results[i] as ReservedOutcome).catch((err: unknown) =>
          err instanceof UnavailableError ? err : new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1));
      }));
    }
    await this.#handOver(pid, items, results);
    return results;
  }

  /**
   * A reservation just made with an Idempotency-Key: the shard only sees its own
   * product's keys, so a global marker (atomic SET NX) catches reuse of a key for another
   * product; the reservation is then given back and refused.
   */
  async #claimKey(pid: number, it: BatchedRequest, result: ReservedOutcome): Promise<BatchedResult> {
    const owner = this.#keys.idempotencyOwner(it.idempotencyKey!);
    const set = await this.#redis(() => this.#d.redis.set(owner, String(pid), "EX", this.#d.config.idempotencyTtlSeconds, "NX"));
    if (set === null && (await this.#redis(() => this.#d.redis.get(owner))) !== String(pid)) {
      await this.release(pid, result.order.order_id, it.idempotencyKey, true);
      return KEY_REUSED;
    }
    return result;
  }

  /**
   * The batch's reservations and replays go to the order stream as one message; each is
   * answered 202 only once the stream acknowledged it. Not acknowledged, not answered 202:
   * whether the stream stored it is known only when nothing could have been sent ("no
   * responders": no JetStream for the subject), and then the new reservations' units go
   * back at once. After a timeout or a lost connection the message may be stored: the
   * reservations stay, a retry with the same Idempotency-Key replays its order and
   * publishes it again (the order writer keeps one row per order id), and one nobody
   * retries is settled by the sweeper at its expiry (written off if its order never
   * reached the database).
   */
  async #handOver(pid: number, items: BatchedRequest[], results: BatchedResult[]): Promise<void> {
    const sent: number[] = [];
    const orders: ReservationRecord[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r instanceof UnavailableError || "notLoaded" in r || !r.ok) continue;
      sent.push(i);
      orders.push({ ...r.order, idempotency_key: items[i].idempotencyKey });
    }
    if (orders.length === 0) return;
    try {
      await publishReservations(this.#d.js, this.#d.streams, orders, this.#d.config.publishTimeoutMs);
    } catch (err) {
      const unavailable = new UnavailableError(`order stream unavailable: ${(err as Error).message}`, "nats", 1);
      const notStored = isNotStored(err);
      await Promise.all(sent.map(async (i) => {
        const r = results[i] as ReservedOutcome;
        const key = items[i].idempotencyKey;
        results[i] = unavailable;
        if (!notStored || r.replayed) return;
        await this.release(pid, r.order.order_id, key, true).catch(() => undefined);
        if (key) await this.#d.redis.del(this.#keys.idempotencyOwner(key)).catch(() => undefined);
      }));
    }
  }

  /** Gives an unpaid reservation's units back; true when something was released. */
  async release(productId: number, orderId: string, idempotencyKey: string | null = null, forgetKey = false): Promise<boolean> {
    const k = this.#keys.product(productId);
    const r = await this.#redis(() =>
      this.#d.scripts.release(
        [k.meta, k.stock, k.res, k.exp, k.users, idempotencyKey ? k.idem(idempotencyKey) : k.noIdem],
        [orderId, forgetKey ? "1" : "0"],
      ),
    );
    if (replyCode(r) === ScriptCode.release.RELEASED) {
      this.#unitsBack(productId);
      return true;
    }
    return false;
  }

  /** The order was paid: its reserved units become sold. True when something was committed. */
  async commit(productId: number, orderId: string): Promise<boolean> {
    const k = this.#keys.product(productId);
    const r = await this.#redis(() => this.#d.scripts.commit([k.meta, k.res, k.exp], [orderId]));
    return replyCode(r) === ScriptCode.commit.COMMITTED;
  }

  /** The reservation of an order still held in the shard, or null. */
  async reservation(productId: number, orderId: string): Promise<ReservationRecord | null> {
    const raw = await this.#redis(() => this.#d.redis.hget(this.#keys.product(productId).res, orderId));
    if (!raw) return null;
    const rec = JSON.parse(raw) as { o: string; q: number; u: string; a: number; e: number; c: number; k: string };
    return {
      order_id: rec.o,
      status: "reserved",
      product_id: productId,
      qty: rec.q,
      user_id: rec.u === "" ? null : rec.u,
      amount_cents: rec.a,
      created_at: new Date(rec.c).toISOString(),
      expires_at: new Date(rec.e).toISOString(),
      idempotency_key: rec.k === "" ? null : rec.k,
    };
  }

  async product(productId: number): Promise<ProductView | null> {
    const k = this.#keys.product(productId);
    let snap = await this.#redis(() => this.#d.scripts.snapshot([k.meta, k.stock], []));
    if (snap.length === 0) {
      if (!(await this.load(productId))) return null;
      snap = await this.#redis(() => this.#d.scripts.snapshot([k.meta, k.stock], []));
    }
    const m: Record<string, string> = {};
    for (let i = 1; i < snap.length; i += 2) m[String(snap[i])] = String(snap[i + 1]);
    return productView(
      {
        id: productId, name: m.name, price_cents: Number(m.price_cents), currency: m.currency,
        stock_total: Number(m.stock_total), stock_committed: 0,
        sale_starts_at: m.starts_at_ms ? new Date(Number(m.starts_at_ms)) : null,
        sale_ends_at: m.ends_at_ms ? new Date(Number(m.ends_at_ms)) : null,
        per_user_limit: m.per_user_limit === "" || m.per_user_limit === undefined ? null : Number(m.per_user_limit),
        max_per_order: Number(m.max_per_order),
      },
      Number(snap[0]),
    );
  }

  /**
   * Builds a product's shard from PostgreSQL (paid = sold, pending = reserved) plus the
   * reservations still in flight on the stream. Never from stock_total alone: units held
   * by orders not yet written would be sold twice. Returns false for an unknown product.
   * `force` replaces a shard that is there; `fresh`: a product just created (nothing in
   * flight). Without either, the requests that find the shard missing together (after a
   * FLUSHALL or a lost master, every request of a drop at once) share one rebuild: each
   * would read the stream and the database only for the script to keep the first.
   */
  load(productId: number, force = false, fresh = false): Promise<boolean> {
    if (force || fresh) return this.#load(productId, force, fresh);
    let loading = this.#loading.get(productId);
    if (loading === undefined) {
      loading = this.#load(productId, false, false).finally(() => this.#loading.delete(productId));
      this.#loading.set(productId, loading);
    }
    return loading;
  }

  async #load(productId: number, force: boolean, fresh: boolean): Promise<boolean> {
    this.#d.onLoad?.(productId);
    // The stream first, then the database: a message leaves the stream only after its
    // row committed, so every reservation is seen in at least one of the two reads.
    // Without the stream there is no safe rebuild: answer 503 rather than guess.
    // (A product just created has nothing in flight.)
    const inFlight = fresh || !this.#d.inFlight
      ? []
      : await this.#d.inFlight(productId).catch((err: Error) => {
          throw new UnavailableError(`order stream unavailable, cannot rebuild shard: ${err.message}`, "nats", 1);
        });
    const em = this.#d.orm.em.fork();
    const snap = await productSnapshot(em, productId);
    if (!snap) return false;
    const reservations = new Map<string, Record<string, unknown>>();
    const users = { ...snap.users };
    for (const o of snap.pending) {
      reservations.set(o.id, {
        o: o.id, q: o.qty, u: o.user_id ?? "", a: o.amount_cents, e: new Date(o.expires_at).getTime(), c: new Date(o.created_at).getTime(),
        k: o.idempotency_key ?? "", h: "",
      });
    }
    const settled = await orderIdsInDb(em, inFlight.map((o) => o.order_id));
    for (const o of inFlight) {
      if (reservations.has(o.order_id) || settled.has(o.order_id)) continue;
      reservations.set(o.order_id, {
        o: o.order_id, q: o.qty, u: o.user_id ?? "", a: o.amount_cents, e: Date.parse(o.expires_at), c: Date.parse(o.created_at),
        k: o.idempotency_key ?? "", h: "",
      });
      if (o.user_id) users[o.user_id] = (users[o.user_id] ?? 0) + o.qty;
    }
    const p = snap.product;
    const k = this.#keys.product(productId);
    const snapshot = {
      epoch: `${this.#now()}-${Math.random().toString(36).slice(2, 10)}`,
      meta: metaOf(p),
      sold: snap.sold,
      users,
      reservations: [...reservations.values()],
    };
    await this.#redis(() =>
      this.#d.scripts.load([k.meta, k.stock, k.res, k.exp, k.users], [JSON.stringify(snapshot), force ? "force" : ""]),
    );
    await this.#redis(() => this.#d.redis.sadd(this.#keys.productIndex, String(productId)));
    this.#unitsBack(productId);
    return true;
  }

  async createProduct(input: NewProduct): Promise<ProductView> {
    const row = await createProduct(this.#d.orm.em.fork(), input);
    await this.load(row.id, true, true);
    return (await this.product(row.id))!;
  }

  /** A demo product for the quick start, only when the database has no product yet. */
  async seedDemo(): Promise<ProductView | null> {
    const [{ n }] = await this.#d.orm.em.fork().execute<Array<{ n: number }>>("select count(*)::int as n from products");
    if (n > 0) return null;
    return this.createProduct({ name: "Console", price_cents: 49900, stock: 1000, per_user_limit: 2, max_per_order: 2 });
  }

  async restock(productId: number, add: number): Promise<ProductView | null> {
    const row = await restockProduct(this.#d.orm.em.fork(), productId, add);
    if (!row) return null;
    const k = this.#keys.product(productId);
    const r = await this.#redis(() => this.#d.scripts.restock([k.meta, k.stock], [add, row.stock_total]));
    // the shard disagrees with the database (replace it) or is not loaded: rebuild it from the database
    const code = replyCode(r);
    if (code === ScriptCode.restock.DISAGREES || code === ScriptCode.restock.NOT_LOADED) {
      await this.load(productId, code === ScriptCode.restock.DISAGREES);
    }
    this.#unitsBack(productId);
    return this.product(productId);
  }

  async shardState(productId: number): Promise<ShardState> {
    const k = this.#keys.product(productId);
    const [meta, stock, records] = await this.#redis(() => Promise.all([
      this.#d.redis.hgetall(k.meta),
      this.#d.redis.get(k.stock),
      this.#d.redis.hvals(k.res),
    ]));
    return {
      loaded: meta.epoch !== undefined && stock !== null,
      epoch: meta.epoch ?? null,
      stock_total: Number(meta.stock_total ?? 0),
      available: Number(stock ?? 0),
      reserved: Number(meta.reserved ?? 0),
      sold: Number(meta.sold ?? 0),
      reservations: records.length,
      reservation_units: records.reduce((sum, raw) => sum + (JSON.parse(raw) as { q: number }).q, 0),
    };
  }

  /** The users holding units of a product (REPL). */
  async holders(productId: number): Promise<Record<string, number>> {
    const users = await this.#redis(() => this.#d.redis.hgetall(this.#keys.product(productId).users));
    return Object.fromEntries(Object.entries(users).map(([u, n]) => [u, Number(n)]));
  }

  /** Reservations whose expiry is at or before `beforeMs`, oldest first. */
  async dueReservations(productId: number, beforeMs: number, limit: number): Promise<ReservationRecord[]> {
    const k = this.#keys.product(productId);
    const ids = await this.#redis(() => this.#d.redis.zrangebyscore(k.exp, "-inf", beforeMs, "LIMIT", 0, limit));
    const found = await Promise.all(ids.map((id) => this.reservation(productId, id)));
    return found.filter((r): r is ReservationRecord => r !== null);
  }

  /** Every product that has had a shard since the last data loss. */
  async knownProducts(): Promise<number[]> {
    return (await this.#redis(() => this.#d.redis.smembers(this.#keys.productIndex))).map(Number).sort((a, b) => a - b);
  }

  /** True when every Redis master answers. */
  async ping(): Promise<boolean> {
    const r = this.#d.redis;
    const nodes = "nodes" in r && typeof r.nodes === "function" ? r.nodes("master") : [r];
    try {
      const answers = await Promise.all(nodes.map((n) => n.ping()));
      return nodes.length > 0 && answers.every((a) => a === "PONG");
    } catch {
      return false;
    }
  }

  /**
   * Runs a Redis operation; through a failover (a master dead, its replica not yet
   * promoted, a slot moved) it is retried with a short backoff until the promotion
   * or REDIS_FAILOVER_WAIT_MS, then answered 503. Every operation run here is
   * idempotent, so a resend after a lost answer applies nothing twice.
   */
  async #redis<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#d.config.redisFailoverWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (!isRedisTransient(err)) {
          // Redis refused the command or the script failed: a bug to surface, not an outage
          if (SCRIPT_FAULTS.has(redisReplyCode(err) ?? "")) throw err;
          throw new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1);
        }
        const delay = Math.min(50 * 2 ** attempt, 500);
        if (Date.now() + delay > deadline) {
          throw new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1);
        }
        const cluster = this.#d.redis as { refreshSlotsCache?: () => void };
        cluster.refreshSlotsCache?.();
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** Redis replies that mean our command or script is wrong. */
const SCRIPT_FAULTS: ReadonlySet<string> = new Set(["ERR", "WRONGTYPE", "NOSCRIPT"]);

/** A publish that certainly reached no stream: nobody listens on its subject (nats.js: no responders). */
function isNotStored(err: unknown): boolean {
  for (let e = err as { name?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.name === "NoResponders" || e.name === "JetStreamNotEnabled") return true;
  }
  return false;
}

function metaOf(p: ProductRow) {
  return {
    name: p.name,
    currency: p.currency,
    price_cents: Number(p.price_cents),
    stock_total: p.stock_total,
    per_user_limit: p.per_user_limit ?? "",
    max_per_order: p.max_per_order,
    starts_at_ms: p.sale_starts_at ? new Date(p.sale_starts_at).getTime() : "",
    ends_at_ms: p.sale_ends_at ? new Date(p.sale_ends_at).getTime() : "",
  };
}
