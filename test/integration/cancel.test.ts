/**
 * POST /api/orders/{id}/cancel: the buyer gives the units back, in every unpaid status
 * (`reserved` included: the row lands as `cancelled`), idempotently; final statuses are
 * 409 ORDER_NOT_CANCELLABLE; a payment after the cancel asks for a refund. Then the
 * races, looped on the real pipeline: cancel vs the consumer writing the row, vs a
 * payment, vs expiry, and two cancels — each ends in exactly one final status, with
 * its units counted once and the audit consistent.
 */
import { jest } from "@jest/globals";
import { log } from "../support/events.ts";
import { holdOrderWriter } from "../support/hold-writer.ts";
import { Interleavings, staggered } from "../support/interleavings.ts";
import { audit as auditOf, committed as committedOf, orderStatus, pendingOrder as pendingOf, placeOrder, reservedWithoutMessage, shard as shardOf } from "../support/orders.ts";
import { useStack, eventually, type Stack } from "../support/stack.ts";
import { sendWebhook, eventId } from "../support/webhooks.ts";

jest.setTimeout(120_000);

let stack: Stack;
useStack((s) => (stack = s), {}, { events: true });

const place = (productId: number, user: string, qty = 1) => placeOrder(stack, productId, user, qty);
const cancel = (id: string) => stack.http("POST", `/api/orders/${id}/cancel`);
const dbStatus = (id: string) => orderStatus(stack, id);
const pendingOrder = (productId: number, user: string, qty = 1) => pendingOf(stack, productId, user, qty);
const shard = (productId: number) => shardOf(stack, productId);
const committed = (productId: number) => committedOf(stack, productId);
const audit = (productId: number) => auditOf(stack, productId);

/**
 * The audit once the pipeline drained (every message written: the drained-only invariants
 * are checked too). Polled: no event announces a drained pipeline.
 */
async function expectConsistent(productId: number) {
  const a = await eventually(async () => {
    const r = await audit(productId);
    return r.pipeline.drained ? r : null;
  }, 20_000, "the pipeline to drain");
  expect(a).toMatchObject({ ok: true, products: [{ consistent: true }] });
}

describe("cancel", () => {
  test("a pending order is cancelled: 200 with the order as GET shows it, its units on sale again at once; a second cancel answers the same and changes nothing", async () => {
    const p = await stack.createProduct({ stock: 5, per_user_limit: 2, max_per_order: 2 });
    const o = await pendingOrder(p.id, "c-1", 2);
    const r = await cancel(o.order_id);
    expect(r.status).toBe(200);
    expect(r.body).toEqual((await stack.http("GET", `/api/orders/${o.order_id}`)).body);
    expect(r.body).toMatchObject({ order_id: o.order_id, status: "cancelled", qty: 2, user_id: "c-1" });
    expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(5);
    expect(await committed(p.id)).toBe(0);

    const again = await cancel(o.order_id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(r.body);
    expect(await shard(p.id)).toMatchObject({ available: 5, reserved: 0, sold: 0 });
    expect(await committed(p.id)).toBe(0);
    // the per-user count went back too: the buyer may take the limit again
    expect((await stack.http("POST", "/api/orders", { product_id: p.id, qty: 2, user_id: "c-1" })).status).toBe(202);
    await expectConsistent(p.id);
  });

  test("a reserved order (row not written yet) is cancelled at once; its row then lands as cancelled and nothing is counted twice", async () => {
    const p = await stack.createProduct({ stock: 3 });
    const release = await holdOrderWriter(stack, p.id);
    let id: string;
    try {
      id = (await place(p.id, "c-2", 2)).order_id;
      expect((await stack.http("GET", `/api/orders/${id}`)).body.status).toBe("reserved");
      const r = await cancel(id);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ order_id: id, status: "cancelled", qty: 2 });
      expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(3);
      expect(await dbStatus(id)).toBe("cancelled");
    } finally {
      await release();
    }
    // the consumer's insert of the late message is a no-op: still cancelled, nothing committed
    await expectConsistent(p.id);
    expect(await dbStatus(id!)).toBe("cancelled");
    expect(await committed(p.id)).toBe(0);
    expect(await shard(p.id)).toMatchObject({ available: 3, reserved: 0 });
  });

  test("paid and expired orders are 409 ORDER_NOT_CANCELLABLE and stay as they are", async () => {
    const p = await stack.createProduct({ stock: 5, price_cents: 250 });
    const paid = await pendingOrder(p.id, "c-3");
    await sendWebhook(stack, { event_id: eventId(), order_id: paid.order_id, status: "succeeded", amount_cents: 250 });
    const expired = await pendingOrder(p.id, "c-4");
    await stack.broker.call("sweeper.sweep", { now: Date.now() + (stack.config.reservationTtlSeconds + 1) * 1000 });
    for (const [o, status] of [[paid, "paid"], [expired, "expired"]] as const) {
      const r = await cancel(o.order_id);
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ error: { code: "ORDER_NOT_CANCELLABLE", message: expect.any(String), details: { status } } });
      expect(await dbStatus(o.order_id)).toBe(status);
    }
    expect(await shard(p.id)).toMatchObject({ available: 4, reserved: 0, sold: 1 });
  });

  test("an unknown order id is 404 ORDER_NOT_FOUND", async () => {
    const p = await stack.createProduct({ stock: 1 });
    const { newOrderId } = await import("../../src/domain/order-id.ts");
    const r = await cancel(newOrderId(p.id));
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("ORDER_NOT_FOUND");
  });

  test("a payment that succeeds after the cancel is recorded with refund_required; an early payment parked before a cancel of the reserved order is settled, not applied", async () => {
    const p = await stack.createProduct({ stock: 5, price_cents: 400 });
    const o = await pendingOrder(p.id, "c-5");
    await cancel(o.order_id);
    const late = await sendWebhook(stack, { event_id: eventId(), order_id: o.order_id, status: "succeeded", amount_cents: 400 });
    expect(late).toMatchObject({ status: 200, body: { received: true, order_status: "cancelled", refund_required: true } });
    expect(await dbStatus(o.order_id)).toBe("cancelled");

    const release = await holdOrderWriter(stack, p.id);
    let early: string;
    try {
      early = (await place(p.id, "c-6")).order_id;
      const parked = await sendWebhook(stack, { event_id: eventId(), order_id: early, status: "succeeded", amount_cents: 400 });
      expect(parked).toMatchObject({ status: 202, body: { order_status: "reserved" } });
      expect((await cancel(early)).body.status).toBe("cancelled");
    } finally {
      await release();
    }
    const { rows } = await stack.db.query("select outcome, status from payment_events where order_id = $1", [early!]);
    expect(rows).toEqual([{ outcome: "final", status: "succeeded" }]);
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: 5, sold: 0 });
  });
});

describe("races (looped)", () => {
  const ROUNDS = 12;

  /**
   * The order of round `i`: even rounds race on a `pending` order (its row awaited), odd
   * ones on a `reserved` one that stays so until a racer writes its row (its message
   * never reached the stream: reservedWithoutMessage).
   */
  const pendingOrReserved = async (i: number, productId: number, user: string) =>
    i % 2 === 0 ? (await pendingOrder(productId, user)).order_id : reservedWithoutMessage(stack, productId, user);
  const kind = (i: number) => (i % 2 === 0 ? "pending" : "reserved");

  test("a cancel against the consumer writing the row: some cancels find the row, some only the reservation", async () => {
    // Left alone the writer almost always wins (the row lands within milliseconds of the
    // 202). So each round's order waits reserved behind a held writer, and the writer is
    // let go about when the cancel leaves (staggered): they meet at the product's lock.
    // One order a round: a second cancel of the product would queue behind the waiting
    // writer (PostgreSQL's tuple lock queue), not race it.
    const rounds = 2 * ROUNDS;
    const p = await stack.createProduct({ stock: rounds });
    const ids: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const release = await holdOrderWriter(stack, p.id);
      const o = await place(p.id, `rw-${i}`);
      ids.push(o.order_id);
      const [r] = await staggered(i, () => cancel(o.order_id), release);
      expect(r).toMatchObject({ status: 200, body: { status: "cancelled" } });
    }
    await expectConsistent(p.id);
    const { rows } = await stack.db.query("select status, count(*)::int as n from orders where id = any($1) group by status", [ids]);
    expect(rows).toEqual([{ status: "cancelled", n: rounds }]);
    expect(await committed(p.id)).toBe(0);
    expect(await shard(p.id)).toMatchObject({ available: rounds, reserved: 0, sold: 0 });
    // who went first, per order: the writer inserted the row (orders.persisted names it) and
    // the cancel found it pending, or the cancel wrote the row and the writer's insert was a no-op
    const inserted = log(stack.broker).persistedIds();
    const seen = new Interleavings(["the cancel found the row", "the cancel found only the reservation"]);
    for (const id of ids) seen.saw(inserted.has(id) ? "the cancel found the row" : "the cancel found only the reservation");
    seen.expectEachSeen();
  });

  /** What each way the race of a cancel and a payment can go leaves, for the buyer, the provider and the database. */
  const CANCEL_VS_PAYMENT: Record<string, object> = {
    "payment first, the cancel refused":
      { cancel: 409, payment: [200, { received: true, order_status: "paid" }], status: "paid", parked: [{ outcome: "applied" }] },
    "payment parked, then settled by the cancel":
      { cancel: 200, payment: [202, { received: true, order_status: "reserved" }], status: "cancelled", parked: [{ outcome: "final" }] },
    "cancel first, the payment told refund_required":
      { cancel: 200, payment: [200, { received: true, order_status: "cancelled", refund_required: true }], status: "cancelled", parked: [{ outcome: "final" }] },
  };

  test("cancel against a payment, on pending and reserved orders: either one wins, the other learns it (409, refund_required, or a parked payment settled)", async () => {
    const rounds = 4 * ROUNDS;
    const p = await stack.createProduct({ stock: rounds, price_cents: 100 });
    const seen = new Interleavings([
      "pending: cancel first, the payment told refund_required",
      "pending: payment first, the cancel refused",
      "reserved: cancel first, the payment told refund_required",
      "reserved: payment parked, then settled by the cancel",
    ]);
    let paid = 0;
    for (let i = 0; i < rounds; i++) {
      const id = await pendingOrReserved(i, p.id, `rp-${i}`);
      const pay = () => sendWebhook(stack, { event_id: eventId(), order_id: id, status: "succeeded", amount_cents: 100 });
      const [c, w] = await staggered(i >> 1, () => cancel(id), pay);
      const parked = (await stack.db.query("select outcome from payment_events where order_id = $1", [id])).rows;
      const observed = { cancel: c.status, payment: [w.status, w.body], status: await dbStatus(id), parked };
      const way = c.status === 409 ? "payment first, the cancel refused"
        : w.status === 202 ? "payment parked, then settled by the cancel" : "cancel first, the payment told refund_required";
      seen.saw(`${kind(i)}: ${way}`);
      expect(observed).toEqual(CANCEL_VS_PAYMENT[way]);
      if (way === "payment first, the cancel refused") paid++;
    }
    seen.expectEachSeen();
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: rounds - paid, reserved: 0, sold: paid });
    expect(await committed(p.id)).toBe(paid);
  });

  /** What each way the race of a cancel and the sweeper's expiry can go leaves, for the buyer and the database. */
  const CANCEL_VS_EXPIRY: Record<string, object> = {
    "cancel first": { cancel: [200, "cancelled"], status: "cancelled" },
    "expiry first": { cancel: [409, "ORDER_NOT_CANCELLABLE"], status: "expired" },
  };

  test("cancel against expiry by the sweeper, on the row and on the reservation alone: either one wins, the order ends as the winner says", async () => {
    const rounds = 2 * ROUNDS;
    const p = await stack.createProduct({ stock: rounds });
    const later = () => Date.now() + (stack.config.reservationTtlSeconds + stack.config.orphanGraceSeconds + 5) * 1000;
    const seen = new Interleavings([
      "on the row: cancel first", "on the row: expiry first", "on the reservation: cancel first", "on the reservation: expiry first",
    ]);
    for (let i = 0; i < rounds; i++) {
      const id = await pendingOrReserved(i, p.id, `re-${i}`);
      // head starts up to 200 ms: a sweep (an expiry pass, then the shard's orphans) takes longer than a cancel
      const [c] = await staggered(i >> 1, () => cancel(id), () => stack.broker.call("sweeper.sweep", { now: later() }), [0, 10, 30, 80, 200]);
      const winner = c.status === 200 ? "cancel first" : "expiry first";
      seen.saw(`${i % 2 === 0 ? "on the row" : "on the reservation"}: ${winner}`);
      expect({ cancel: [c.status, c.body.status ?? c.body.error.code], status: await dbStatus(id) }).toEqual(CANCEL_VS_EXPIRY[winner]);
    }
    seen.expectEachSeen();
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: rounds, reserved: 0, sold: 0 });
    expect(await committed(p.id)).toBe(0);
  });

  test("two cancels at once, on pending and on reserved orders: both answer the same 200, the units come back once", async () => {
    const p = await stack.createProduct({ stock: ROUNDS, per_user_limit: 1, max_per_order: 1 });
    for (let i = 0; i < ROUNDS; i++) {
      const id = await pendingOrReserved(i, p.id, `rc-${i}`);
      const [a, b] = await Promise.all([cancel(id), cancel(id)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body).toEqual(b.body);
      expect(a.body.status).toBe("cancelled");
    }
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: ROUNDS, reserved: 0, sold: 0 });
    expect(await committed(p.id)).toBe(0);
  });
});
