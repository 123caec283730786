/**
 * The `order.reserved` message: published by the inventory once the shard holds the
 * units, consumed by the orders service. JSON, versioned by field presence: one order
 * (the fields of a ReservationRecord), or `{ "orders": [...] }`, the reservations of
 * one product's micro-batch in one message (one publish, one ack, one delivery for
 * the batch instead of one each).
 */
import type { ReservationRecord, ReservedOrder } from "../contracts/reservation.ts";

export function encodeOrderMessage(order: ReservedOrder, idempotencyKey: string | null): Uint8Array {
  return Buffer.from(JSON.stringify({ ...order, idempotency_key: idempotencyKey }));
}

/** One message for several reservations (one product's micro-batch); one order is encoded alone. */
export function encodeOrdersMessage(orders: readonly ReservationRecord[]): Uint8Array {
  if (orders.length === 1) return encodeOrderMessage(orders[0], orders[0].idempotency_key);
  return Buffer.from(JSON.stringify({ orders }));
}

/** Parses and checks a message of one or several orders; throws on anything malformed (the consumer dead-letters it). */
export function decodeOrderMessages(data: Uint8Array): ReservationRecord[] {
  const m = JSON.parse(Buffer.from(data).toString("utf8")) as ReservationRecord | { orders?: unknown };
  if (typeof m === "object" && m !== null && "orders" in m) {
    if (!Array.isArray(m.orders) || m.orders.length === 0) throw new Error("malformed order.reserved message");
    return m.orders.map(checked);
  }
  return [checked(m)];
}

function checked(raw: unknown): ReservationRecord {
  const m = raw as ReservationRecord;
  const ok =
    typeof m === "object" && m !== null &&
    typeof m.order_id === "string" && /^[0-9a-f-]{36}$/i.test(m.order_id) &&
    Number.isInteger(m.product_id) && m.product_id > 0 &&
    Number.isInteger(m.qty) && m.qty > 0 &&
    Number.isFinite(m.amount_cents) && m.amount_cents >= 0 &&
    (m.user_id === null || typeof m.user_id === "string") &&
    (m.idempotency_key === null || m.idempotency_key === undefined || typeof m.idempotency_key === "string") &&
    !Number.isNaN(Date.parse(m.created_at)) && !Number.isNaN(Date.parse(m.expires_at));
  if (!ok) throw new Error("malformed order.reserved message");
  return { ...m, idempotency_key: m.idempotency_key ?? null };
}
