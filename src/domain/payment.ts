/**
 * What a payment event does to an order: the payment side of the order state machine.
 * Pure: the payments service and the order consumer (for parked early webhooks) both
 * ask it, then write what it says in their transaction.
 */
import type { OrderStatus } from "../contracts/order-view.ts";

export type PaymentStatus = "succeeded" | "failed";

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(["paid", "cancelled", "expired", "rejected"]);

export interface PaymentEventInput {
  event_id: string;
  order_id: string;
  status: PaymentStatus;
  amount_cents: number;
}

export type PaymentOutcome =
  | "applied" // the order moved to paid or cancelled
  | "parked" // order not in the database yet: applied when its row is written
  | "final" // the order was already final: recorded, nothing changed
  | "amount_mismatch"
  | "unknown_order";

export interface PaymentDecision {
  outcome: PaymentOutcome;
  /** the order's next status, when it changes */
  next?: "paid" | "cancelled";
  httpStatus: number;
  response: Record<string, unknown>;
}

/**
 * @param order the order row (locked), or null when it is not in the database
 * @param reserved whether the inventory still holds a reservation for the order
 */
export function decidePayment(
  event: PaymentEventInput,
  order: { status: OrderStatus; amount_cents: number } | null,
  reserved: boolean,
): PaymentDecision {
  if (!order) {
    if (reserved) return { outcome: "parked", httpStatus: 202, response: { received: true, order_status: "reserved" } };
    return {
      outcome: "unknown_order",
      httpStatus: 404,
      response: { error: { code: "ORDER_NOT_FOUND", message: `order ${event.order_id} is unknown` } },
    };
  }
  if (event.amount_cents !== order.amount_cents) {
    return {
      outcome: "amount_mismatch",
      httpStatus: 422,
      response: {
        error: {
          code: "AMOUNT_MISMATCH",
          message: `amount_cents ${event.amount_cents} differs from the order's ${order.amount_cents}`,
          details: { expected: order.amount_cents, received: event.amount_cents },
        },
      },
    };
  }
  if (FINAL_STATUSES.has(order.status)) {
    // Money taken for an order that will not ship (or a second charge for a paid one) goes back.
    const refund = event.status === "succeeded";
    return {
      outcome: "final",
      httpStatus: 200,
      response: refund
        ? { received: true, order_status: order.status, refund_required: true }
        : { received: true, order_status: order.status },
    };
  }
  const next = event.status === "succeeded" ? "paid" : "cancelled";
  return { outcome: "applied", next, httpStatus: 200, response: { received: true, order_status: next } };
}
