/**
 * POST /api/orders/{id}/cancel: the buyer gives the units back, in every unpaid status
 * (`reserved` included: the row lands as `cancelled`), idempotently; final statuses are
 * 409 ORDER_NOT_CANCELLABLE; a payment after the cancel asks for a refund. Then the
 * races, looped on the real pipeline: cancel vs the consumer writing the row, vs a
 * payment, vs expiry, and two cancels — each ends in exactly one final status, with
 * its units counted once and the audit consistent.
 */
import { jest } from "@jest/globals";
import { holdOrderWriter } from "../support/hold-writer.ts";
import { startStack, eventually, type Stack } from "../support/stack.ts";
import { sendWebhook, eventId } from "../support/webhooks.ts";

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const place = async (productId: number, user: string, qty = 1) => {
  const r = await stack.http("POST", "/api/orders", { product_id: productId, qty, user_id: user });
  expect(r.status).toBe(202);
  return r.body as { order_id: string; amount_cents: number };
};
const cancel = (id: string) => stack.http("POST", `/api/orders/${id}/cancel`);
const dbStatus = async (id: string) => (await stack.db.query("select status from orders where id = $1", [id])).rows[0]?.status;
const pendingOrder = async (productId: number, user: string, qty = 1) => {
  const o = await place(productId, user, qty);
  await eventually(async () => (await dbStatus(o.order_id)) === "pending", 20_000, "the order row");
  return o;
};
const shard = (productId: number) =>
  stack.broker.call<{ available: number; reserved: number; sold: number; stock_total: number }, object>("inventory.shard", { product_id: productId });
const committed = async (productId: number) =>
  (await stack.db.query("select stock_committed from products where id = $1", [productId])).rows[0].stock_committed as number;
const audit = (productId: number) =>
  stack.broker.call<{ ok: boolean; products: Array<{ consistent: boolean }>; pipeline: { drained: boolean } }, object>(
    "sweeper.audit", { product_id: productId },
  );

/** The audit once the pipeline drained (every message written: the drained-only invariants are checked too). */
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

  test("cancel right after the 202, against the consumer writing the row", async () => {
    // bursts: the consumer writes in batches, so some cancels find the row, some only the reservation
    const BURST = 8;
    const p = await stack.createProduct({ stock: ROUNDS * BURST });
    const ids: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const replies = await Promise.all(Array.from({ length: BURST }, async (_, j) => {
        const o = await place(p.id, `rw-${i}-${j}`);
        ids.push(o.order_id);
        return cancel(o.order_id);
      }));
      for (const r of replies) expect(r).toMatchObject({ status: 200, body: { status: "cancelled" } });
    }
    await expectConsistent(p.id);
    const { rows } = await stack.db.query("select status, count(*)::int as n from orders where id = any($1) group by status", [ids]);
    expect(rows).toEqual([{ status: "cancelled", n: ROUNDS * BURST }]);
    expect(await committed(p.id)).toBe(0);
    expect(await shard(p.id)).toMatchObject({ available: ROUNDS * BURST, reserved: 0, sold: 0 });
  });

  test("cancel against a payment: one of them wins, the other learns it", async () => {
    const p = await stack.createProduct({ stock: ROUNDS, price_cents: 100 });
    let paid = 0;
    for (let i = 0; i < ROUNDS; i++) {
      // half of the rounds race on a pending order, half on one still reserved
      const o = i % 2 === 0 ? await pendingOrder(p.id, `rp-${i}`) : await place(p.id, `rp-${i}`);
      const [c, w] = await Promise.all([
        cancel(o.order_id),
        sendWebhook(stack, { event_id: eventId(), order_id: o.order_id, status: "succeeded", amount_cents: 100 }),
      ]);
      const final = await eventually(async () => {
        const s = await dbStatus(o.order_id);
        return s === "paid" || s === "cancelled" ? s : null;
      }, 20_000, "a final status");
      if (c.status === 200) {
        expect(final).toBe("cancelled");
        // the payment landed after the cancel (refund), or was parked and settled by it
        if (w.status === 200) expect(w.body).toEqual({ received: true, order_status: "cancelled", refund_required: true });
        else expect(w.status).toBe(202);
      } else {
        expect(c.status).toBe(409);
        expect(final).toBe("paid");
        paid++;
      }
    }
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: ROUNDS - paid, reserved: 0, sold: paid });
    expect(await committed(p.id)).toBe(paid);
  });

  test("cancel against expiry by the sweeper", async () => {
    const p = await stack.createProduct({ stock: ROUNDS });
    const later = () => Date.now() + (stack.config.reservationTtlSeconds + stack.config.orphanGraceSeconds + 5) * 1000;
    for (let i = 0; i < ROUNDS; i++) {
      const o = i % 2 === 0 ? await pendingOrder(p.id, `re-${i}`) : await place(p.id, `re-${i}`);
      const [c] = await Promise.all([cancel(o.order_id), stack.broker.call("sweeper.sweep", { now: later() })]);
      const final = await eventually(async () => {
        const s = await dbStatus(o.order_id);
        return s === "expired" || s === "cancelled" ? s : null;
      }, 20_000, "a final status");
      expect(c.status === 200 ? "cancelled" : c.status === 409 ? "expired" : `HTTP ${c.status}`).toBe(final);
    }
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: ROUNDS, reserved: 0, sold: 0 });
    expect(await committed(p.id)).toBe(0);
  });

  test("two cancels at once: both answer the same 200, the units come back once", async () => {
    const p = await stack.createProduct({ stock: ROUNDS, per_user_limit: 1, max_per_order: 1 });
    for (let i = 0; i < ROUNDS; i++) {
      const o = i % 2 === 0 ? await pendingOrder(p.id, `rc-${i}`) : await place(p.id, `rc-${i}`);
      const [a, b] = await Promise.all([cancel(o.order_id), cancel(o.order_id)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body).toEqual(b.body);
      expect(a.body.status).toBe("cancelled");
    }
    await expectConsistent(p.id);
    expect(await shard(p.id)).toMatchObject({ available: ROUNDS, reserved: 0, sold: 0 });
    expect(await committed(p.id)).toBe(0);
  });
});
