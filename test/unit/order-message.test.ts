import { decodeOrderMessages, encodeOrderMessage, encodeOrdersMessage } from "../../src/domain/order-message.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";
import { batchMessageId } from "../../src/lib/publish-reservation.ts";

const order = (id: string, key: string | null = null): ReservationRecord => ({
  order_id: id, status: "reserved", product_id: 7, qty: 1, user_id: "u", amount_cents: 100,
  created_at: "2026-12-03T10:00:00.000Z", expires_at: "2026-12-03T10:10:00.000Z", idempotency_key: key,
});
const A = "00000007-0000-4000-8000-00000000000a";
const B = "00000007-0000-4000-8000-00000000000b";
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

test("one order is the single-order message; several are one { orders } message; both decode to their orders", () => {
  expect(decodeOrderMessages(encodeOrdersMessage([order(A, "k")]))).toEqual([order(A, "k")]);
  expect(Buffer.from(encodeOrdersMessage([order(A, "k")])).toString()).toBe(Buffer.from(encodeOrderMessage(order(A), "k")).toString());
  expect(decodeOrderMessages(encodeOrdersMessage([order(A), order(B, "k")]))).toEqual([order(A), order(B, "k")]);
});

test("a single-order message without idempotency_key decodes with a null key", () => {
  const { idempotency_key: _, ...old } = order(A);
  expect(decodeOrderMessages(bytes(old))).toEqual([order(A)]);
});

test.each([
  ["an empty batch", { orders: [] }],
  ["orders that are not a list", { orders: order(A) }],
  ["one malformed order among good ones", { orders: [order(A), { ...order(B), qty: 0 }] }],
  ["a bad order id", { ...order(A), order_id: "nope" }],
  ["a non-string key", { ...order(A), idempotency_key: 5 }],
  ["null", null],
])("%s is malformed (the consumer dead-letters it)", (_what, body) => {
  expect(() => decodeOrderMessages(bytes(body))).toThrow("malformed order.reserved message");
});

test("the message id: the order id alone; for a batch a digest of its order ids, different for different batches", () => {
  expect(batchMessageId([order(A)])).toBe(A);
  const ab = batchMessageId([order(A), order(B)]);
  expect(ab).toBe(batchMessageId([order(A), order(B, "other key")]));
  expect(ab).not.toBe(batchMessageId([order(B), order(A)]));
  expect(ab).not.toBe(batchMessageId([order(A), order("00000007-0000-4000-8000-00000000000c")]));
  expect(ab).not.toBe(A);
});
