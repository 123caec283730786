import type { EntityManager } from "@mikro-orm/postgresql";
import { decidePayment, type PaymentDecision, type PaymentEventInput } from "../domain/payment.ts";
import type { OrderStatus } from "../contracts/order-view.ts";
import type { InventoryEffect } from "../contracts/inventory-effects.ts";
import { productIdOfOrder } from "../domain/order-id.ts";
import { transitionOrder } from "./order-transition.ts";
import { idArray } from "./sql.ts";

export interface RecordedPayment {
  httpStatus: number;
  response: Record<string, unknown>;
  /** true when this event_id had been received before: the stored answer, nothing done */
  replayed: boolean;
  outcome: PaymentDecision["outcome"] | "replayed";
  effect: InventoryEffect | null;
}

/**
 * Records one payment event and applies it, in the caller's transaction.
 *
 * The event row is inserted first (unique event_id): a concurrent delivery of the same
 * event waits on that insert and then reads the stored answer. The product row is then
 * locked (as an UPDATE would): the order consumer updates it in the transaction that
 * writes the order and picks up parked events, so either this transaction sees the
 * order row, or the consumer sees this parked event — never neither. Taking the
 * product's lock before the order's is the lock order every writer follows.
 * `reserved`: the shard held a reservation for the order when asked before this
 * transaction, the order having no row then (reservationUnlessWritten: no network call
 * while the product row is locked); used only when there is still no row under the lock.
 */
export async function recordPayment(
  em: EntityManager,
  event: PaymentEventInput,
  reserved: boolean,
): Promise<RecordedPayment> {
  const claimed = await em.execute<Array<{ event_id: string }>>(
    `insert into payment_events (event_id, order_id, status, amount_cents, outcome, http_status, response, received_at)
     values (?, ?, ?, ?, 'processing', 0, '{}'::jsonb, now())
     on conflict (event_id) do nothing returning event_id`,
    [event.event_id, event.order_id, event.status, event.amount_cents],
  );
  if (claimed.length === 0) {
    const [stored] = await em.execute<Array<{ http_status: number; response: Record<string, unknown> }>>(
      `select http_status, response from payment_events where event_id = ?`,
      [event.event_id],
    );
    return { httpStatus: stored.http_status, response: stored.response, replayed: true, outcome: "replayed", effect: null };
  }

  const productId = productIdOfOrder(event.order_id);
  if (productId !== null) {
    await em.execute(`select 1 from products where id = ? for no key update`, [productId]);
  }
  const [order] = await em.execute<Array<{ status: OrderStatus; amount_cents: number }>>(
    `select status, amount_cents::float8 as amount_cents from orders where id = ? for update`,
    [event.order_id],
  );
  const decision = decidePayment(event, order ?? null, order ? false : reserved);
  const effect = decision.next ? await transitionOrder(em, event.order_id, decision.next) : null;
  await em.execute(
    `update payment_events set outcome = ?, http_status = ?, response = ?::jsonb,
            applied_at = case when ? then now() else null end
      where event_id = ?`,
    [decision.outcome, decision.httpStatus, JSON.stringify(decision.response), decision.outcome === "applied", event.event_id],
  );
  return { httpStatus: decision.httpStatus, response: decision.response, replayed: false, outcome: decision.outcome, effect };
}

/**
 * Applies the parked events of orders just written (the consumer's transaction, after
 * it updated their products). Events apply in the order they arrived; the answer
 * stored for re-deliveries stays the one first given (202).
 */
export async function applyParkedPayments(em: EntityManager, orderIds: string[]): Promise<InventoryEffect[]> {
  if (orderIds.length === 0) return [];
  const parked = await em.execute<Array<PaymentEventInput & { amount_cents: number }>>(
    `select event_id, order_id, status, amount_cents::float8 as amount_cents from payment_events
      where order_id = any(?::uuid[]) and outcome = 'parked' order by received_at, event_id for update`,
    [idArray(orderIds)],
  );
  const effects: InventoryEffect[] = [];
  for (const event of parked) {
    const [order] = await em.execute<Array<{ status: OrderStatus; amount_cents: number }>>(
      `select status, amount_cents::float8 as amount_cents from orders where id = ? for update`,
      [event.order_id],
    );
    const decision = decidePayment(event, order ?? null, false);
    const effect = decision.next ? await transitionOrder(em, event.order_id, decision.next) : null;
    if (effect) effects.push(effect);
    await em.execute(
      `update payment_events set outcome = ?, applied_at = case when ? then now() else null end where event_id = ?`,
      [decision.outcome, decision.outcome === "applied", event.event_id],
    );
  }
  return effects;
}
