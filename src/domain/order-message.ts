/**
 * The `order.reserved` message: published by the inventory once the shard holds the
 * units, consumed by the orders service. JSON, versioned by field presence.
 */
import type { ReservedOrder } from "./reservation.ts";

export interface OrderReservedMessage extends ReservedOrder {
  idempotency_key: string | null;
}

export function encodeOrderMessage(order: ReservedOrder, idempotencyKey: string | null): Uint8Array {
  return Buffer.from(JSON.stringify({ ...order, idempotency_key: idempotencyKey }));
}

/** Parses and checks a message; throws on anything malformed (the consumer dead-letters it). */
export function decodeOrderMessage(data: Uint8Array): OrderReservedMessage {
  const m = JSON.parse(Buffer.from(data).toString("utf8")) as OrderReservedMessage;
  const ok =
    typeof m === "object" && m !== null &&
    typeof m.order_id === "string" && /^[0-9a-f-]{36}$/i.test(m.order_id) &&
    Number.isInteger(m.product_id) && m.product_id > 0 &&
    Number.isInteger(m.qty) && m.qty > 0 &&
    Number.isFinite(m.amount_cents) && m.amount_cents >= 0 &&
    (m.user_id === null || typeof m.user_id === "string") &&
    !Number.isNaN(Date.parse(m.created_at)) && !Number.isNaN(Date.parse(m.expires_at));
  if (!ok) throw new Error("malformed order.reserved message");
  return m;
}
