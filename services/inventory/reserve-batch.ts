/**
 * The path of a batch of reservations in the inventory: the requests of one product that
 * a gateway sent together (inventory.reserveMany) go to Redis as one reserveBatch-8.lua
 * call, in the order given, each by the reservation rule as alone
 * (lua/includes/reserveMany.lua); then each keyed winner claims its key across products,
 * and the batch's reservations and replays go to the order stream as one message, each
 * answered 202 only once the stream acknowledged it. One request's failure is its own
 * answer (an Error in its place), not the batch's.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Config } from "../../src/lib/config.ts";
import type { RedisClient, ReplicatedScripts, ScriptResult, Scripts } from "../../src/lib/redis.ts";
import { reserveBatchKeys, type DeploymentKeys } from "../../src/lib/keys.ts";
import { UnavailableError } from "../../src/lib/errors.ts";
import type { StreamNames } from "../../src/lib/streams.ts";
import { newOrderId, productIdOfOrder } from "../../src/domain/order-id.ts";
import { KEY_REUSED, refuse, requestHash } from "../../src/domain/reservation.ts";
import type { ReservationRecord, ReserveManyRequest, ReserveOutcome, SoldOutRules } from "../../src/contracts/reservation.ts";
import { decodeReserve } from "./reserve-reply.ts";
import { replyCode, ScriptCode } from "./script-codes.ts";
import { publishReservations } from "../../src/lib/publish-reservation.ts";
import type { RunRedis } from "./redis-failover.ts";
import type { ReserveAnswer } from "./inventory.ts";

/** A reservation the script made or replayed. */
type Reserved = Extract<ReserveOutcome, { ok: true }>;

export interface ReserveBatchDeps {
  config: Readonly<Config>;
  redis: RedisClient;
  scripts: Scripts;
  /** the scripts followed by WAIT (used when config.redisMinReplicas > 0) */
  replicated?: ReplicatedScripts;
  js: JetStreamClient;
  streams: StreamNames;
  keys: DeploymentKeys;
  now: () => number;
  /** runs a Redis operation through a failover (./redis-failover.ts) */
  run: RunRedis;
  /** whether the JetStream connection is up now (a reservation is only made when it is) */
  streamConnected?: () => boolean;
  /** builds a product's shard that is not loaded; false for an unknown product */
  load: (productId: number) => Promise<boolean>;
  /**
   * gives back the units of a reservation its call did not answer 202, and forgets its key
   * (release-6.lua with ARGV[2] "1"); keeps it if a replay answered it meanwhile. True when released.
   */
  release: (productId: number, orderId: string, idempotencyKey: string | null, forgetKey: boolean) => Promise<boolean>;
  /** told the size of every batch sent to Redis (metrics) */
  onBatch?: (size: number) => void;
  /** told when the script answers SOLD_OUT, once per SOLD_OUT_FLAG_MS (and again after units came back) */
  onSoldOut?: (productId: number, rules: SoldOutRules) => void;
}

export class ReserveBatches {
  readonly #d: ReserveBatchDeps;
  /**
   * Until when this node's last sell-out announcement of a product holds (the gateways'
   * flags lapse after SOLD_OUT_FLAG_MS): not a hint, nothing is answered from it.
   */
  readonly #announcedUntil = new Map<number, number>();

  constructor(deps: ReserveBatchDeps) {
    this.#d = deps;
  }

  /** Units of the product came back: its next sell-out is announced again. */
  stockReturned(productId: number): void {
    this.#announcedUntil.delete(productId);
  }

  /**
   * One answer per request, in order. `order_id`: chosen by the caller (the gateway) so
   * that a resent call — a Moleculer retry after a node died, a Redis command retried
   * through a failover — replays its reservation instead of making a second one; one of
   * another product (or none) is replaced by a new one. More than RESERVE_BATCH_MAX
   * requests (a gateway sends at most that many) go in script calls of that size.
   */
  async reserveMany(productId: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]> {
    // NATS down: refuse before reserving anything (the hand-over could not be acknowledged)
    if (this.#d.streamConnected && !this.#d.streamConnected()) {
      const down = new UnavailableError("order stream unavailable: not connected to NATS", "nats", 1);
      return requests.map(() => down);
    }
    const max = Math.max(1, this.#d.config.reserveBatchMax);
    if (requests.length <= max) return this.#batch(productId, requests);
    const parts: Array<Promise<ReserveAnswer[]>> = [];
    for (let from = 0; from < requests.length; from += max) parts.push(this.#batch(productId, requests.slice(from, from + max)));
    return (await Promise.all(parts)).flat();
  }

  async #batch(pid: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]> {
    try {
      return await this.#reserve(pid, requests);
    } catch (err) {
      return requests.map(() => err as Error);
    }
  }

  /**
   * Applies the requests in one script call, one result each. With REDIS_MIN_REPLICAS > 0
   * the call is followed by WAIT in the same pipeline: a reservation that did not reach
   * enough replicas in time is not safe from the loss of its master, so it is not
   * answered 202: its units are given back and its caller gets 503 (if the master dies
   * before that release lands, the reservation has no message on the stream and the
   * sweeper writes it off as an orphan). A replay of it that was answered meanwhile (its
   * own call's WAIT succeeded after this one's failed) keeps it: the release leaves a
   * reservation a replay marked (lua/includes/markAnswered.lua).
   */
  async #reserve(pid: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]> {
    const n = requests.length;
    const k = this.#d.keys.product(pid);
    const cfg = this.#d.config;
    let now = this.#d.now();
    const keys = reserveBatchKeys(k);
    // reserveBatch-8.lua's ARGV: 4, then 7 per request (its header)
    const args: Array<string | number> = [k.idem(""), now, cfg.reservationTtlSeconds * 1000, cfg.idempotencyTtlSeconds];
    const orderIds: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = requests[i];
      const given = r.order_id;
      const orderId = (orderIds[i] = given !== undefined && productIdOfOrder(given) === pid ? given : newOrderId(pid, now));
      const key = r.idempotency_key ?? "";
      args.push(orderId, r.qty, r.user_id ?? "", key === "" ? "" : requestHash(pid, r.qty, r.user_id), key, r.entry_ticket ?? "", r.entry_refused ?? "");
    }
    let { replies, replicas } = await this.#script(keys, args, n);
    if (replyCode(replies[0]) === ScriptCode.reserve.NOT_LOADED) {
      if (!(await this.#d.load(pid))) {
        const missing = refuse("PRODUCT_NOT_FOUND", `product ${pid} does not exist`);
        return requests.map(() => missing);
      }
      args[1] = now = this.#d.now();
      ({ replies, replicas } = await this.#script(keys, args, n));
      if (replyCode(replies[0]) === ScriptCode.reserve.NOT_LOADED) throw new UnavailableError("inventory shard could not be loaded", "redis");
    }
    const need = cfg.redisMinReplicas;
    const results: ReserveAnswer[] = new Array(n);
    const shortOfReplicas: number[] = [];
    let claims: number[] | undefined;
    let soldOut: SoldOutRules | undefined;
    for (let i = 0; i < n; i++) {
      const reply = replies[i];
      const code = replyCode(reply);
      // reserved now or replayed: both are answered 202, so both must be replicated
      // (a replay may be of a reservation whose first answer was this same 503)
      if ((code === ScriptCode.reserve.RESERVED || code === ScriptCode.reserve.REPLAYED) && replicas < need) {
        results[i] = new UnavailableError(`the reservation reached ${replicas} of ${need} Redis replica(s) in time`, "redis", 1);
        if (code === ScriptCode.reserve.RESERVED) shortOfReplicas.push(i);
        continue;
      }
      let r = decodeReserve(pid, requests[i].user_id ?? "", reply);
      if (r.ok) {
        // a "replay" of this very call's order id: an earlier attempt of the call was applied, its answer lost
        if (r.replayed && r.order.order_id === orderIds[i]) r = { ...r, replayed: false };
        if (!r.replayed && requests[i].idempotency_key) (claims ??= []).push(i);
      } else if (r.soldOut !== undefined) soldOut = r.soldOut;
      results[i] = r;
    }
    // the units of a reservation refused for want of replicas go back
    if (shortOfReplicas.length > 0) {
      await Promise.all(shortOfReplicas.map((i) => this.#d.release(pid, orderIds[i], requests[i].idempotency_key ?? null, true).catch(() => undefined)));
    }
    if (soldOut !== undefined) this.#announceSoldOut(pid, soldOut, now);
    // a keyed reservation claims its key; one request's failure is its own 503, not its batch's
    if (claims !== undefined) {
      await Promise.all(claims.map(async (i) => {
        results[i] = await this.#claimKey(pid, requests[i].idempotency_key!, results[i] as Reserved).catch((err: unknown) =>
          err instanceof UnavailableError ? err : new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1));
      }));
    }
    await this.#handOver(pid, requests, results);
    return results;
  }

  /** One script call; `replicas` is how many replicas acknowledged it (Infinity: not asked). */
  async #script(keys: string[], args: Array<string | number>, n: number): Promise<{ replies: ScriptResult[]; replicas: number }> {
    this.#d.onBatch?.(n);
    const need = this.#d.config.redisMinReplicas;
    if (need === 0 || !this.#d.replicated) {
      return { replies: (await this.#d.run(() => this.#d.scripts.reserveBatch(keys, args))) as unknown as ScriptResult[], replicas: Infinity };
    }
    const r = await this.#d.run(() => this.#d.replicated!.reserveBatch(keys, args, need, this.#d.config.redisWaitTimeoutMs));
    return { replies: r.reply as unknown as ScriptResult[], replicas: r.replicas };
  }

  #announceSoldOut(pid: number, rules: SoldOutRules, now: number): void {
    const until = this.#announcedUntil.get(pid);
    if (until !== undefined && now < until) return;
    this.#announcedUntil.set(pid, now + this.#d.config.soldOutFlagMs);
    this.#d.onSoldOut?.(pid, rules);
  }

  /**
   * A reservation just made with an Idempotency-Key: the shard only sees its own
   * product's keys, so a global marker (atomic SET NX) catches reuse of a key for another
   * product; the reservation is then given back and refused.
   */
  async #claimKey(pid: number, key: string, result: Reserved): Promise<ReserveAnswer> {
    const owner = this.#d.keys.idempotencyOwner(key);
    const set = await this.#d.run(() => this.#d.redis.set(owner, String(pid), "EX", this.#d.config.idempotencyTtlSeconds, "NX"));
    if (set === null && (await this.#d.run(() => this.#d.redis.get(owner))) !== String(pid)) {
      await this.#d.release(pid, result.order.order_id, key, true);
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
  async #handOver(pid: number, requests: readonly ReserveManyRequest[], results: ReserveAnswer[]): Promise<void> {
    const sent: number[] = [];
    const orders: ReservationRecord[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r instanceof Error || !r.ok) continue;
      sent.push(i);
      orders.push({ ...r.order, idempotency_key: requests[i].idempotency_key ?? null });
    }
    if (orders.length === 0) return;
    try {
      await publishReservations(this.#d.js, this.#d.streams, orders, this.#d.config.publishTimeoutMs);
    } catch (err) {
      const unavailable = new UnavailableError(`order stream unavailable: ${(err as Error).message}`, "nats", 1);
      const notStored = isNotStored(err);
      await Promise.all(sent.map(async (i) => {
        const r = results[i] as Reserved;
        const key = requests[i].idempotency_key ?? null;
        results[i] = unavailable;
        if (!notStored || r.replayed) return;
        const released = await this.#d.release(pid, r.order.order_id, key, true).catch(() => false);
        if (key && released) await this.#d.redis.del(this.#d.keys.idempotencyOwner(key)).catch(() => undefined);
      }));
    }
  }
}

/** A publish that certainly reached no stream: nobody listens on its subject (nats.js: no responders). */
function isNotStored(err: unknown): boolean {
  for (let e = err as { name?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.name === "NoResponders" || e.name === "JetStreamNotEnabled") return true;
  }
  return false;
}
