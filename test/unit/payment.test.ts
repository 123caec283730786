import { decidePayment, type PaymentEventInput } from "../../src/domain/payment.ts";

const ev = (status: "succeeded" | "failed", amount = 500): PaymentEventInput => ({ event_id: "e", order_id: "o", status, amount_cents: amount });

test("a succeeded payment pays a pending order; a failed one cancels it", () => {
  expect(decidePayment(ev("succeeded"), { status: "pending", amount_cents: 500 }, false)).toMatchObject({
    outcome: "applied", next: "paid", httpStatus: 200, response: { received: true, order_status: "paid" },
  });
  expect(decidePayment(ev("failed"), { status: "pending", amount_cents: 500 }, false)).toMatchObject({
    outcome: "applied", next: "cancelled", response: { order_status: "cancelled" },
  });
});

test("an early event for a reserved order is parked with 202; an unknown order is 404", () => {
  expect(decidePayment(ev("succeeded"), null, true)).toMatchObject({ outcome: "parked", httpStatus: 202, response: { order_status: "reserved" } });
  expect(decidePayment(ev("succeeded"), null, false)).toMatchObject({ outcome: "unknown_order", httpStatus: 404 });
});

test("a final status never changes; money taken for it must be refunded", () => {
  for (const status of ["paid", "cancelled", "expired", "rejected"] as const) {
    const d = decidePayment(ev("succeeded"), { status, amount_cents: 500 }, false);
    expect(d).toMatchObject({ outcome: "final", httpStatus: 200, response: { order_status: status, refund_required: true } });
    expect(d.next).toBeUndefined();
    expect(decidePayment(ev("failed"), { status, amount_cents: 500 }, false).response).toEqual({ received: true, order_status: status });
  }
});

test("an amount that differs from the order's is AMOUNT_MISMATCH, nothing changes", () => {
  const d = decidePayment(ev("succeeded", 499), { status: "pending", amount_cents: 500 }, false);
  expect(d).toMatchObject({ outcome: "amount_mismatch", httpStatus: 422, response: { error: { code: "AMOUNT_MISMATCH" } } });
  expect(d.next).toBeUndefined();
});
