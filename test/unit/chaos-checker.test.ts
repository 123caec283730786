/**
 * The chaos checker (test/chaos/checker.ts) on hand-made histories: a clean one passes,
 * and each anomaly it exists for is found, with the operations that show it.
 */
import { check, windowOf, type FinalState } from "../chaos/checker.ts";
import type { Entry, Fault, Op } from "../chaos/history.ts";
import { rng } from "../chaos/prng.ts";
import { schedule } from "../chaos/nemesis.ts";
import { FAULT_KINDS } from "../chaos/history.ts";

let ids = 0;
const ID = "0190a5b2-0000-7000-8000-000000000001";
const ID2 = "0190a5b2-0000-7000-8000-000000000002";

function op(kind: Op["kind"], invoke: number, complete: number, req: Partial<Op["req"]>, status: number | null, body?: unknown, replayed?: boolean): Op {
  const outcome = status === null ? "unknown" : status < 300 ? "ok" : status < 500 || status === 503 ? "fail" : "unknown";
  return { type: "op", id: ids++, worker: "w0", kind, invoke, complete, outcome, req: { method: "GET", path: "/", ...req }, res: { status, body, ...(replayed ? { replayed } : {}) } };
}

const accepted = (orderId = ID, key = "k1") => ({ order_id: orderId, status: "reserved", product_id: 1, qty: 1, user_id: "u", amount_cents: 1000, expires_at: "2026-12-06T00:00:08Z", key });
const order = (invoke: number, complete: number, status: number | null, body?: unknown, key = "k1", replayed = false) =>
  op("order", invoke, complete, { method: "POST", path: "/api/orders", key, body: { product_id: 1, qty: 1, user_id: "u" } }, status, body, replayed);
const read = (invoke: number, complete: number, status: number, body: unknown, id = ID) => op("read-order", invoke, complete, { path: `/api/orders/${id}` }, status, body);
const audit = (invoke: number, failures: Array<{ invariant: string; by: number }> = []) =>
  op("audit", invoke, invoke + 5, { path: "/api/admin/audit" }, 200, { ok: failures.length === 0, products: [{ id: 1, stock_total: 10, available: 9, reserved: 1, pending: 1, paid: 0, failures: failures.map((f) => ({ ...f, detail: "" })) }] });

const finalOf = (orders: FinalState["orders"], auditOk = true): FinalState => ({
  orders,
  products: [{ id: 1, stock_total: 10 }],
  audit: {
    ok: auditOk,
    products: [{ id: 1, stock_total: 10, available: 9, reserved: 0, pending: 0, paid: 1, consistent: auditOk, drift: 0, failures: auditOk ? [] : [{ invariant: "drained_sold_is_paid", detail: "", by: 1 }] }],
    pipeline: { drained: true, in_flight: 0, dead_letters: 0 },
  },
});
const paidRow = { id: ID, status: "paid", idempotency_key: "k1", product_id: 1, qty: 1 };

function clean(): Entry[] {
  const body = accepted();
  return [
    order(0, 10, null), // no answer: retried with its key
    order(20, 30, 202, body),
    audit(25),
    read(40, 45, 200, { order_id: ID, status: "pending" }),
    op("replay", 50, 55, { method: "POST", path: "/api/orders", key: "k1", body: { product_id: 1, qty: 1, user_id: "u" } }, 202, body, true),
    op("pay", 60, 65, { method: "POST", path: "/api/payments/webhook", body: { event_id: "e1", order_id: ID, status: "succeeded", amount_cents: 1000 } }, 200, { received: true, order_status: "paid" }),
    op("pay", 70, 75, { method: "POST", path: "/api/payments/webhook", body: { event_id: "e1", order_id: ID, status: "succeeded", amount_cents: 1000 } }, 200, { received: true, order_status: "paid" }),
    read(80, 85, 200, { order_id: ID, status: "paid" }),
    op("read-product", 90, 95, { path: "/api/products/1" }, 200, { id: 1, stock_total: 10, stock_available: 9 }),
    order(100, 110, 409, { error: { code: "SOLD_OUT" } }, "k2"),
    op("cancel", 120, 125, { method: "POST", path: `/api/orders/${ID}/cancel` }, 409, { error: { code: "ORDER_NOT_CANCELLABLE" } }),
    { type: "fault", id: ids++, kind: "partition", target: "redis-17210", start: 5, end: 50, recoveredAfterMs: 800 } satisfies Fault,
  ];
}

const checks = (history: Entry[], final: FinalState) => check(history, final).map((a) => a.check);

test("a clean history of orders, retries, replays, payments and reads has no anomaly", () => {
  expect(check(clean(), finalOf([paidRow]))).toEqual([]);
});

test("an answer 500 is an anomaly, a 503 is not", () => {
  const h = [...clean(), order(200, 210, 500, { error: { code: "INTERNAL" } }, "k3"), order(220, 230, 503, { error: { code: "UNAVAILABLE" } }, "k4")];
  expect(checks(h, finalOf([paidRow]))).toEqual(["server_error"]);
});

test("an audit read that does not add up, or a product read below zero, is an oversold read", () => {
  const h = [...clean(), audit(300, [{ invariant: "shard_conservation", by: 1 }]), op("read-product", 310, 315, { path: "/api/products/1" }, 200, { id: 1, stock_total: 10, stock_available: -1 })];
  expect(checks(h, finalOf([paidRow]))).toEqual(["oversold_read", "oversold_read"]);
  // an invariant that only holds once the pipeline drained is not checked at every read
  expect(checks([...clean(), audit(300, [{ invariant: "drained_reserved_is_pending", by: 1 }])], finalOf([paidRow]))).toEqual([]);
});

test("a 202 without its row, a 202 rejected, and a read of an acknowledged order that finds nothing are found", () => {
  expect(checks(clean(), finalOf([]))).toContain("ack_lost");
  expect(checks(clean(), finalOf([{ ...paidRow, status: "rejected" }]))).toContain("ack_rejected");
  expect(checks(clean(), finalOf([{ ...paidRow, idempotency_key: "other" }]))).toContain("ack_lost");
  const lostRead = [...clean(), read(300, 305, 404, { error: { code: "ORDER_NOT_FOUND" } })];
  expect(checks(lostRead, finalOf([paidRow]))).toEqual(["ack_lost"]);
  // a 404 before the 202 completed is no loss
  expect(checks([read(0, 5, 404, { error: { code: "ORDER_NOT_FOUND" } }), ...clean()], finalOf([paidRow]))).toEqual([]);
});

test("a key refused for sure whose order is in the database anyway is found", () => {
  expect(checks(clean(), finalOf([paidRow, { id: ID2, status: "pending", idempotency_key: "k2", product_id: 1, qty: 1 }]))).toEqual(["refused_but_ordered"]);
});

test("an order seen in two final states, or unfinished after a final state, is found", () => {
  const cancelled = [...clean(), op("cancel", 300, 305, { method: "POST", path: `/api/orders/${ID}/cancel` }, 200, { order_id: ID, status: "cancelled" })];
  expect(checks(cancelled, finalOf([paidRow]))).toEqual(["two_final_states"]);
  expect(checks(clean(), finalOf([{ ...paidRow, status: "expired" }]))).toEqual(["two_final_states"]);
  const back = [...clean(), read(300, 305, 200, { order_id: ID, status: "pending" })];
  expect(checks(back, finalOf([paidRow]))).toEqual(["two_final_states"]);
});

test("a replay that differs from the first answer, a key refused after its 202, and a webhook answered twice differently are found", () => {
  const differs = [...clean(), order(300, 305, 202, accepted(ID2), "k1", true)];
  expect(checks(differs, finalOf([paidRow])).sort()).toEqual(["ack_lost", "replay_differs"]); // and the second order has no row
  const forgotten = [...clean(), order(300, 305, 409, { error: { code: "SOLD_OUT" } })];
  expect(checks(forgotten, finalOf([paidRow]))).toEqual(["replay_differs"]);
  const webhook = [...clean(), op("pay", 300, 305, { method: "POST", path: "/api/payments/webhook", body: { event_id: "e1", order_id: ID, status: "succeeded", amount_cents: 1000 } }, 200, { received: true, order_status: "paid", refund_required: true })];
  expect(checks(webhook, finalOf([paidRow]))).toEqual(["replay_differs"]);
});

test("a fault the cluster did not recover from, a final audit not ok and units oversold in the database are found", () => {
  const stuck = [...clean(), { type: "fault", id: ids++, kind: "kill", target: "nats", start: 300, end: 300, recoveredAfterMs: null } satisfies Fault];
  expect(checks(stuck, finalOf([paidRow]))).toEqual(["not_recovered"]);
  expect(checks(clean(), finalOf([paidRow], false))).toEqual(["final_audit"]);
  const many = Array.from({ length: 11 }, (_, i) => ({ id: `x${i}`, status: "paid", idempotency_key: null, product_id: 1, qty: 1 }));
  expect(checks(clean(), finalOf([paidRow, ...many]))).toEqual(["final_oversold"]);
});

test("the window of an anomaly holds its operations, those on the same order and the faults of its span, and counts the rest", () => {
  const h = [...clean(), read(300, 305, 404, { error: { code: "ORDER_NOT_FOUND" } }), op("read-product", 302, 303, { path: "/api/products/1" }, 200, { id: 1, stock_total: 10, stock_available: 9 }), read(900, 905, 200, { order_id: ID, status: "paid" })];
  const [anomaly] = check(h, finalOf([paidRow]));
  const w = windowOf(h, anomaly);
  expect(w.from).toBe(20);
  expect(w.to).toBe(305);
  expect(w.entries.some((e) => e.type === "op" && e.invoke === 900)).toBe(false);
  expect(w.entries.filter((e) => anomaly.ops.includes(e.id))).toHaveLength(2);
  // the reads, replay and payments of the same order in that span are shown, the product read is counted
  expect(w.entries.filter((e) => e.type === "op").map((e) => (e as Op).kind)).toEqual(["order", "read-order", "replay", "pay", "pay", "read-order", "cancel", "read-order"]);
  expect(w.entries.some((e) => e.type === "fault")).toBe(true);
  expect(w.others).toBe(4);
});

test("a seed names its faults: the same seed the same schedule, every kind in the first faults", () => {
  const a = schedule(rng(42).fork("nemesis"), 2);
  expect(schedule(rng(42).fork("nemesis"), 2)).toEqual(a);
  expect(schedule(rng(43).fork("nemesis"), 2)).not.toEqual(a);
  expect(new Set(schedule(rng(42).fork("nemesis"), 10).slice(0, FAULT_KINDS.length).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
});
