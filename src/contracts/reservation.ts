/**
 * What the gateway asks of the inventory and what it answers (inventory.reserve and
 * reserveMany), and the reservation record: the reservation as the shard holds it, the
 * `order.reserved` message carries it and the orders and sweeper services read it
 * back (inventory.reservation, inventory.due).
 */
import type { ErrorCode } from "../lib/errors.ts";

/** POST /api/orders's body: the params of inventory.reserve. */
export interface OrderRequest {
  product_id: number;
  qty: number;
  user_id?: string;
}

/** The reservation as the 202 body shows it. */
export interface ReservedOrder {
  order_id: string;
  status: "reserved";
  product_id: number;
  qty: number;
  user_id: string | null;
  amount_cents: number;
  created_at: string;
  expires_at: string;
}

/** The reservation record: a reservation with the Idempotency-Key it was made with. */
export interface ReservationRecord extends ReservedOrder {
  idempotency_key: string | null;
}

/**
 * The rules of a sold-out product that come before "sold out" in the reserve rule: what a
 * gateway must know to answer SOLD_OUT itself without answering anything the rule would not.
 */
export interface SoldOutRules {
  max_per_order: number;
  per_user_limit: number | null;
  ends_at_ms: number | null;
}

/**
 * inventory.reserve's answer. Expected rejections (sold out, limits) are values, not
 * exceptions: most answers of a drop are "sold out", and building an Error with a stack
 * for each would cost more than the Redis call.
 */
export type ReserveOutcome =
  | { ok: true; order: ReservedOrder; replayed: boolean }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown>; soldOut?: SoldOutRules };

/** A refused reservation. */
export type Refusal = Extract<ReserveOutcome, { ok: false }>;
