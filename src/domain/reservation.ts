/**
 * The reservation rule's answers (src/contracts/reservation.ts), built the same way
 * wherever they are given: from the script's reply (services/inventory/reserve-reply.ts),
 * at a gateway's sold-out edge, by the row-lock baseline.
 */
import { createHash } from "node:crypto";
import type { ErrorCode } from "../lib/errors.ts";
import type { Refusal, ReservedOrder } from "../contracts/reservation.ts";

/** Fingerprint of a request body for idempotency: same key + different body = reuse. */
export function requestHash(productId: number, qty: number, userId: string | undefined): string {
  return createHash("sha256")
    .update(JSON.stringify([productId, qty, userId ?? null]))
    .digest("base64url");
}

export const refuse = (code: ErrorCode, message: string, details?: Record<string, unknown>): Refusal =>
  details ? { ok: false, code, message, details } : { ok: false, code, message };

/** Shared, allocation-free answer for the most common outcome of a drop. */
export const SOLD_OUT: Refusal = Object.freeze(refuse("SOLD_OUT", "the product is sold out")) as Refusal;

export const KEY_REUSED: Refusal = Object.freeze(
  refuse("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body"),
) as Refusal;

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

/** A reservation from what the shard stores of it; `userId` "" is an anonymous buyer. */
export function reservedOrder(
  productId: number, orderId: string, qty: number, amountCents: number, createdMs: number, expiresMs: number, userId: string,
): ReservedOrder {
  return {
    order_id: orderId,
    status: "reserved",
    product_id: productId,
    qty,
    user_id: userId === "" ? null : userId,
    amount_cents: amountCents,
    created_at: createdIso(createdMs),
    expires_at: expiresIso(expiresMs),
  };
}
