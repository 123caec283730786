/**
 * Builds a product's shard from PostgreSQL (paid = sold, pending = reserved) plus the
 * reservations still in flight on the stream, in one load-6.lua call. Never from
 * stock_total alone: units held by orders not yet written would be sold twice.
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import type { DeploymentKeys } from "../../src/lib/keys.ts";
import type { Scripts, RedisClient } from "../../src/lib/redis.ts";
import { UnavailableError } from "../../src/lib/errors.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";
import { productSnapshot, orderIdsInDb, type ProductRow } from "../../src/db/product-snapshot.ts";
import { shardRecord } from "../../src/contracts/shard-record.ts";
import type { RunRedis } from "./redis-failover.ts";

export interface ShardLoaderDeps {
  redis: RedisClient;
  scripts: Scripts;
  orm: MikroORM;
  keys: DeploymentKeys;
  now: () => number;
  run: RunRedis;
  /** reservations of a product still in flight to PostgreSQL (messages not yet written) */
  inFlight?: (productId: number) => Promise<ReservationRecord[]>;
  /** a product's shard was (re)built */
  onLoad?: (productId: number) => void;
  /** units are back on sale after a build */
  unitsBack: (productId: number) => void;
}

export class ShardLoader {
  readonly #d: ShardLoaderDeps;
  /** rebuilds under way, by product (see load) */
  readonly #loading = new Map<number, Promise<boolean>>();

  constructor(deps: ShardLoaderDeps) {
    this.#d = deps;
  }

  /**
   * Returns false for an unknown product. `force` replaces a shard that is there; `fresh`:
   * a product just created (nothing in flight). Without either, the requests that find
   * the shard missing together (after a FLUSHALL or a lost master, every request of a drop
   * at once) share one rebuild: each would read the stream and the database only for the
   * script to keep the first.
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
    const reservations = new Map<string, ReturnType<typeof shardRecord>>();
    const users = { ...snap.users };
    for (const o of snap.pending) reservations.set(o.id, shardRecord({ ...o, order_id: o.id }));
    const settled = await orderIdsInDb(em, inFlight.map((o) => o.order_id));
    for (const o of inFlight) {
      if (reservations.has(o.order_id) || settled.has(o.order_id)) continue;
      reservations.set(o.order_id, shardRecord(o));
      if (o.user_id) users[o.user_id] = (users[o.user_id] ?? 0) + o.qty;
    }
    const k = this.#d.keys.product(productId);
    const snapshot = {
      epoch: `${this.#d.now()}-${Math.random().toString(36).slice(2, 10)}`,
      meta: metaOf(snap.product),
      sold: snap.sold,
      users,
      reservations: [...reservations.values()],
    };
    await this.#d.run(() =>
      this.#d.scripts.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [JSON.stringify(snapshot), force ? "force" : ""]),
    );
    await this.#d.run(() => this.#d.redis.sadd(this.#d.keys.productIndex, String(productId)));
    this.#d.unitsBack(productId);
    return true;
  }
}

/** The product's rules as load-6.lua's snapshot carries them ("" = none). */
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
    access: p.access,
    opens_at_ms: p.queue_opens_at ? new Date(p.queue_opens_at).getTime() : "",
    entry_ttl_s: p.entry_ttl_seconds,
    admit_per_second: p.admit_per_second ?? "",
    challenge: p.challenge ? "1" : "0",
  };
}
