/**
 * The sold-out hint: a node that knows a product is sold out answers `409 SOLD_OUT`
 * itself, without a call to another node. Most requests of a drop arrive after the last
 * unit is gone, so this is the answer that must cost the least.
 *
 * The one sold-out check on an order's path: the inventory keeps none (its script answers).
 * A hint, never a gate: the reserve script stays the only gate. A flag is set when the
 * inventory announces a sell-out (SOLD_OUT_EVENT) or a reply said so, is dropped when it
 * announces units back (STOCK_RETURNED_EVENT), and lapses by itself after
 * SOLD_OUT_FLAG_MS, so a lost "units back" event delays a resale by at most that long.
 *
 * Answered here only what the reserve rule would answer too: a request (valid: the order
 * route checked it) that the rule would refuse for an earlier reason (qty over
 * max_per_order, missing user_id, the sale ended) goes on to the inventory and gets that
 * answer. (A user at the
 * per-user limit is told SOLD_OUT here where the rule says LIMIT_EXCEEDED: both refuse,
 * and knowing every user's holdings at the edge would cost more than the hint saves.)
 *
 * A request with an Idempotency-Key that already won must get its replay, not a 409:
 * this asks Redis directly (replayKey-2.lua, one script call on the product's slot) for
 * the key's record (src/contracts/shard-record.ts), compared by the same request hash as
 * the reserve rule; the script marks a reservation still held as answered, as the rule
 * does for every replay, so that the release of a reservation its own call did not
 * answer (a 503 for want of replicas) keeps it. With REDIS_MIN_REPLICAS > 0 the call is
 * followed by WAIT, which that write makes cover the reservation, and a replay that did
 * not reach enough replicas goes to the inventory (which answers 503). The replay is
 * handed to the order stream again under its order id, as the inventory does for every
 * replay (a reservation whose first publish timed out is made durable by its retry; the
 * stream keeps one message per id), before the 202. Redis and NATS are data servers,
 * not nodes: no Moleculer call. The alternative, the inventory telling every gateway which keys won,
 * would send every winner's key to every gateway and keep them for the whole idempotency
 * TTL (48 h) to be exact, and could not make a timed-out publish durable; the script costs a
 * Redis round trip only for keyed requests on flagged products. Without Redis or the
 * stream (a gateway node without REDIS_NODES/REDIS_URL), keyed requests go to the
 * inventory, and so does a replay whose publish fails (it answers 503 then).
 */
import type { DeploymentKeys } from "../../src/lib/keys.ts";
import type { ScriptResult } from "../../src/lib/redis.ts";
import { KEY_REUSED, requestHash, SOLD_OUT } from "../../src/domain/reservation.ts";
import type { OrderRequest, ReservationRecord, ReserveOutcome, SoldOutRules } from "../../src/contracts/reservation.ts";
import { decodeShardRecord } from "../../src/contracts/shard-record.ts";

/** What replaying a winning key at the edge needs: the key's record, and the order stream. */
export interface Replays {
  /**
   * replayKey-2.lua on the product's slot; `replicas` is how many replicas acknowledged it
   * (followed by WAIT when REDIS_MIN_REPLICAS > 0, else Infinity)
   */
  replayKey: (keys: string[], args: string[]) => Promise<{ reply: ScriptResult | string | null; replicas: number }>;
  /** REDIS_MIN_REPLICAS */
  minReplicas: number;
  /** the deployment's key names (the idempotency record lives in the product's slot) */
  keys: DeploymentKeys;
  /** hands the reservation to the order stream (src/lib/publish-reservation.ts) */
  publish: (record: ReservationRecord) => Promise<void>;
}

interface Flag {
  until: number;
  /** SOLD_OUT carrying the rules, so a node that gets it as a reply can flag the product too */
  outcome: ReserveOutcome & { soldOut: SoldOutRules };
}

export class SoldOutEdge {
  readonly #flags = new Map<number, Flag>();
  /** when units of a product last came back: a sell-out seen by a request sent before that is stale */
  readonly #returnedAt = new Map<number, number>();
  readonly #lapseMs: number;
  #replays: Replays | null = null;
  readonly #now: () => number;

  /** `lapseMs` 0 turns the hint off. */
  constructor(lapseMs: number, now: () => number = Date.now) {
    this.#lapseMs = lapseMs;
    this.#now = now;
  }

  /** Keyed requests on flagged products are answered here from now on (a gateway connects after it is built); null: no more. */
  replayWith(replays: Replays | null): void {
    this.#replays = replays;
  }

  /**
   * The product is sold out, as seen by something that started at `seenAt` (a request
   * sent then, or an event received now). Ignored when units came back since.
   */
  soldOut(productId: number, rules: SoldOutRules, seenAt: number = this.#now()): void {
    if (this.#lapseMs === 0) return;
    const back = this.#returnedAt.get(productId);
    if (back !== undefined && back >= seenAt) return;
    this.#flags.set(productId, { until: seenAt + this.#lapseMs, outcome: { ...SOLD_OUT, soldOut: rules } as Flag["outcome"] });
  }

  /** Units of the product came back: on sale again at once. */
  returned(productId: number): void {
    this.#flags.delete(productId);
    this.#returnedAt.set(productId, this.#now());
  }

  /** True while a fresh flag says the product is sold out. */
  isSoldOut(productId: number): boolean {
    return this.#fresh(productId) !== undefined;
  }

  /**
   * The answer to a (valid) order request when this node can give it without the
   * inventory: SOLD_OUT, a replay or IDEMPOTENCY_KEY_REUSED; null when the request must go on.
   */
  answer(req: OrderRequest, idempotencyKey: string | null): ReserveOutcome | Promise<ReserveOutcome | null> | null {
    const flag = this.#fresh(req.product_id);
    if (!flag) return null;
    const r = flag.outcome.soldOut;
    if (req.qty > r.max_per_order || (r.per_user_limit !== null && req.user_id === undefined)) return null;
    if (r.ends_at_ms !== null && this.#now() >= r.ends_at_ms) return null;
    if (idempotencyKey === null) return flag.outcome;
    if (!this.#replays) return null;
    return this.#replayOrSoldOut(this.#replays, req, idempotencyKey, flag.outcome);
  }

  #fresh(productId: number): Flag | undefined {
    const flag = this.#flags.get(productId);
    if (flag === undefined) return undefined;
    if (this.#now() < flag.until) return flag;
    this.#flags.delete(productId);
    return undefined;
  }

  async #replayOrSoldOut(replays: Replays, req: OrderRequest, idempotencyKey: string, soldOut: ReserveOutcome): Promise<ReserveOutcome | null> {
    const k = replays.keys.product(req.product_id);
    // Redis unreachable: let the inventory answer (it owns the 503)
    const hash = requestHash(req.product_id, req.qty, req.user_id);
    const r = await replays.replayKey([k.res, k.idem(idempotencyKey)], [hash]).catch(() => undefined);
    if (r === undefined) return null;
    if (r.reply === null) return soldOut;
    const { record, requestHash: stored } = decodeShardRecord(req.product_id, String(r.reply));
    if (stored !== hash) return KEY_REUSED;
    // not on enough replicas yet: the inventory answers (503, or its own replay once they caught up)
    if (r.replicas < replays.minReplicas) return null;
    // the record reserve's rule wrote, answered as its replay
    const replay = { ok: true, order: record, replayed: true } as const;
    // durable before the 202, like every replay; if the stream does not take it, the inventory answers
    return replays.publish(record).then(() => replay, () => null);
  }

}
