/**
 * The inventory on Redis shards (INVENTORY_MODE=redis): one actor per product under
 * the hash tag {<namespace>:p:<id>} (src/lib/keys.ts), changed only by the Lua scripts in
 * ./lua. Its parts: the path of a batch of reservations to Redis and the stream
 * (./reserve-batch.ts), the shard's (re)build (./shard-loader.ts), the reservation
 * record's codec (src/contracts/shard-record.ts), Redis through a failover (./redis-failover.ts);
 * here, the rest of the shard's operations and reads.
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Config } from "../../src/lib/config.ts";
import type { RedisClient, ReplicatedScripts, Scripts } from "../../src/lib/redis.ts";
import { deploymentKeys, type DeploymentKeys } from "../../src/lib/keys.ts";
import type { StreamNames } from "../../src/lib/streams.ts";
import type { ReservationRecord, ReserveManyRequest, SoldOutRules } from "../../src/contracts/reservation.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { ProductRow } from "../../src/db/product-snapshot.ts";
import type { ShardState } from "../../src/contracts/reports.ts";
import { createProduct, type NewProduct } from "../../src/db/create-product.ts";
import { restockProduct } from "../../src/db/restock-product.ts";
import { replyCode, ScriptCode } from "./script-codes.ts";
import { checkAccess, productView, type Inventory, type ReserveAnswer } from "./inventory.ts";
import { Lines } from "./lines.ts";
import type { LineChanged } from "../../src/contracts/line.ts";
import { ReserveBatches } from "./reserve-batch.ts";
import { ShardLoader } from "./shard-loader.ts";
import { decodeShardRecord, recordQty } from "../../src/contracts/shard-record.ts";
import { redisWithFailover, type RunRedis } from "./redis-failover.ts";

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
  /** told when units went back to stock, so every gateway drops its sold-out flag */
  onStockReturned?: (productId: number) => void;
  /** told when the script answers SOLD_OUT (again once SOLD_OUT_FLAG_MS passed), so every gateway flags it */
  onSoldOut?: (productId: number, rules: SoldOutRules) => void;
  /** told the size of every batch sent to Redis (metrics) */
  onBatch?: (size: number) => void;
  /** a product's shard was (re)built from PostgreSQL and the stream */
  onLoad?: (productId: number) => void;
  /** a product's line moved (LINE_CHANGED_EVENT) */
  onLineChanged?: (change: LineChanged) => void;
  /** reservations of a product still in flight to PostgreSQL (messages not yet written) */
  inFlight?: (productId: number) => Promise<ReservationRecord[]>;
}

export class RedisInventory implements Inventory {
  readonly #d: InventoryDeps;
  readonly #now: () => number;
  readonly #keys: DeploymentKeys;
  readonly #redis: RunRedis;
  readonly #batches: ReserveBatches;
  readonly #loader: ShardLoader;
  /** the lines of the products sold through one (./lines.ts) */
  readonly lines: Lines;

  constructor(deps: InventoryDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#keys = deploymentKeys(deps.config.streamPrefix);
    this.#redis = redisWithFailover(deps.redis, deps.config.redisFailoverWaitMs);
    this.#loader = new ShardLoader({
      redis: deps.redis, scripts: deps.scripts, orm: deps.orm, keys: this.#keys, now: this.#now, run: this.#redis,
      inFlight: deps.inFlight, onLoad: deps.onLoad, unitsBack: (productId) => this.#unitsBack(productId),
    });
    this.#batches = new ReserveBatches({
      config: deps.config, redis: deps.redis, scripts: deps.scripts, replicated: deps.replicated, js: deps.js, streams: deps.streams,
      keys: this.#keys, now: this.#now, run: this.#redis, streamConnected: deps.streamConnected,
      load: (productId) => this.#loader.load(productId),
      release: (productId, orderId, key, forget) => this.release(productId, orderId, key, forget),
      onBatch: deps.onBatch, onSoldOut: deps.onSoldOut,
    });
    this.lines = new Lines({
      redis: deps.redis, scripts: deps.scripts, orm: deps.orm, keys: this.#keys, run: this.#redis, now: this.#now,
      entryTokenSecret: deps.config.entryTokenSecret, product: (productId) => this.product(productId), onChanged: deps.onLineChanged,
    });
  }

  /** Units of a product came back (here or on another node): its next sell-out is announced again. */
  stockReturned(productId: number): void {
    this.#batches.stockReturned(productId);
  }

  /** Units came back here: this node and every other one put the product on sale again. */
  #unitsBack(productId: number): void {
    this.stockReturned(productId);
    this.#d.onStockReturned?.(productId);
  }

  reserveMany(productId: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]> {
    return this.#batches.reserveMany(productId, requests);
  }

  load(productId: number, force = false, fresh = false): Promise<boolean> {
    return this.#loader.load(productId, force, fresh);
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
    return raw ? decodeShardRecord(productId, raw).record : null;
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
        // a shard loaded before the line's fields existed is an open product's
        access: (m.access || "open") as ProductRow["access"],
        queue_opens_at: m.opens_at_ms ? new Date(Number(m.opens_at_ms)) : null,
        entry_ttl_seconds: Number(m.entry_ttl_s || 120),
        admit_per_second: m.admit_per_second ? Number(m.admit_per_second) : null,
        challenge: m.challenge === "1",
      },
      Number(snap[0]),
    );
  }

  async createProduct(input: NewProduct): Promise<ProductView> {
    checkAccess(input, this.#now(), true);
    const row = await createProduct(this.#d.orm.em.fork(), input);
    await this.load(row.id, true, true);
    const view = (await this.product(row.id))!;
    // its seed's hash is fixed now, before anyone can join
    await this.lines.open(view);
    return view;
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
    const [meta, stock, records, line, entries] = await this.#redis(() => Promise.all([
      this.#d.redis.hgetall(k.meta),
      this.#d.redis.get(k.stock),
      this.#d.redis.hvals(k.res),
      this.#d.redis.hmget(k.line, "aside", "per_entry"),
      this.#d.redis.zcard(k.lineEntries),
    ]));
    return {
      loaded: meta.epoch !== undefined && stock !== null,
      epoch: meta.epoch ?? null,
      stock_total: Number(meta.stock_total ?? 0),
      available: Number(stock ?? 0),
      reserved: Number(meta.reserved ?? 0),
      sold: Number(meta.sold ?? 0),
      reservations: records.length,
      reservation_units: records.reduce((sum, raw) => sum + recordQty(raw), 0),
      aside: Number(line[0] ?? 0),
      open_entries: entries,
      per_entry: Number(line[1] ?? 0),
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
}
