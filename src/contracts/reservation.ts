/**
 * What the gateway asks of the inventory and what it answers (inventory.reserveMany),
 * and the reservation record: the reservation as the shard holds it, the
 * `order.reserved` message carries it and the orders and sweeper services read it
 * back (inventory.reservation, inventory.due).
 */
import type { ErrorCode } from "../lib/errors.ts";

/** POST /api/orders's body (src/lib/params.ts, placeOrderParams). */
export interface OrderRequest {
  product_id: number;
  qty: number;
  user_id?: string;
}

/**
 * One request of `inventory.reserveMany`: a gateway always sends the order id it chose
 * (a resent call replays that reservation) and the request's Idempotency-Key.
 */
export interface ReserveManyRequest {
  qty: number;
  user_id?: string;
  order_id?: string;
  idempotency_key?: string | null;
  /**
   * the ticket of the entry this order is placed with (a `queue` or `draw` product): the
   * gateway verified the Entry-Token's signature, product, buyer and expiry; the reserve
   * step consumes the entry with the units (one order per entry: ENTRY_USED otherwise)
   */
  entry_ticket?: string;
  /**
   * the Entry-Token sent did not verify at the gateway (the reason, in words): the reserve
   * step answers an idempotent replay first, whatever the token, else ENTRY_INVALID
   */
  entry_refused?: string;
}

/** The params of `inventory.reserveMany` (src/lib/params.ts, reserveManyParams); answered one ReserveOutcome or ErrorValue per request, in order. */
export interface ReserveMany {
  product_id: number;
  requests: ReserveManyRequest[];
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
 * inventory.reserveMany's answer to one request. Expected rejections (sold out, limits) are values, not
 * exceptions: most answers of a drop are "sold out", and building an Error with a stack
 * for each would cost more than the Redis call.
 */
export type ReserveOutcome =
  | { ok: true; order: ReservedOrder; replayed: boolean }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown>; soldOut?: SoldOutRules };

/** A refused reservation. */
export type Refusal = Extract<ReserveOutcome, { ok: false }>;
