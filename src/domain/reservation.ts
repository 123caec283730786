/**
 * The reservation rule's results: what the `reserve` script answered, as a typed
 * outcome (src/contracts/reservation.ts).
 */
import { createHash } from "node:crypto";
import type { ErrorCode } from "../lib/errors.ts";
import type { OrderRequest, Refusal, ReserveOutcome, ReservedOrder, SoldOutRules } from "../contracts/reservation.ts";

export type ReserveResult = ReserveOutcome | { notLoaded: true };

/** Fingerprint of a request body for idempotency: same key + different body = reuse. */
export function requestHash(req: OrderRequest): string {
  return createHash("sha256")
    .update(JSON.stringify([req.product_id, req.qty, req.user_id ?? null]))
    .digest("base64url");
}

const reject = (code: ErrorCode, message: string, details?: Record<string, unknown>): ReserveOutcome =>
  details ? { ok: false, code, message, details } : { ok: false, code, message };

/** Shared, allocation-free answer for the most common outcome of a drop. */
export const SOLD_OUT: Refusal = Object.freeze(reject("SOLD_OUT", "the product is sold out")) as Refusal;

/**
 * `new Date(ms).toISOString()`, remembering the last answer: the reservations of one
 * micro-batch share their creation and expiry times, so a batch formats each once.
 */
function isoMemo(): (ms: number) => string {
  let lastMs = NaN;
  let last = "";
  return (ms) => (ms === lastMs ? last : ((lastMs = ms), (last = new Date(ms).toISOString())));
}
const createdIso = isoMemo();
const expiresIso = isoMemo();

function order(productId: number, r: Array<string | number>, userId: string): ReservedOrder {
  return {
    order_id: String(r[1]),
    status: "reserved",
    product_id: productId,
    qty: Number(r[2]),
    user_id: userId === "" ? null : userId,
    amount_cents: Number(r[3]),
    created_at: createdIso(Number(r[5])),
    expires_at: expiresIso(Number(r[4])),
  };
}

const optionalNumber = (v: string | number | undefined) => (v === undefined || v === "" || v === null ? null : Number(v));

function soldOutRules(r: Array<string | number>): SoldOutRules {
  return { max_per_order: Number(r[1]), per_user_limit: optionalNumber(r[2]), ends_at_ms: optionalNumber(r[3]) };
}

/** Decodes one reply of reserve-6.lua or reserveBatch-5.lua (codes documented in reserve-6.lua's header). */
export function decodeReserve(productId: number, req: OrderRequest, r: Array<string | number>): ReserveResult {
  switch (Number(r[0])) {
    case 0:
      return { ok: true, order: order(productId, r, req.user_id ?? ""), replayed: false };
    case 1:
      return { ok: true, order: order(productId, r, String(r[6] ?? "")), replayed: true };
    case 2:
      return reject("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
    case 3:
      return { notLoaded: true };
    case 4:
      return r[1] === "before"
        ? reject("SALE_NOT_ACTIVE", "the sale has not started yet")
        : reject("SALE_NOT_ACTIVE", "the sale has ended");
    case 5:
      return reject("VALIDATION_ERROR", `qty exceeds max_per_order (${r[1]})`, {
        fields: { qty: `must be at most ${r[1]}` },
      });
    case 6:
      return reject("VALIDATION_ERROR", "user_id is required for a product with a per-user limit", {
        fields: { user_id: "required" },
      });
    case 7:
      return reject("LIMIT_EXCEEDED", `the per-user limit is ${r[2]} units`, { held: Number(r[1]), per_user_limit: Number(r[2]) });
    case 8:
      return r.length > 1 ? { ...SOLD_OUT, soldOut: soldOutRules(r) } : SOLD_OUT;
    case 9:
      return reject("INSUFFICIENT_STOCK", `only ${r[1]} units left`, { available: Number(r[1]) });
    default:
      throw new Error(`reserve: unknown reply code ${r[0]}`);
  }
}
