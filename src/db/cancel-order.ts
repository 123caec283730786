import type { EntityManager } from "@mikro-orm/postgresql";
import type { ReservationRecord } from "../contracts/reservation.ts";
import type { OrderView } from "../contracts/order-view.ts";
import type { InventoryEffect } from "../contracts/inventory-effects.ts";
import { applyParkedPayments } from "./apply-payment.ts";
import { findOrder } from "./find-order.ts";
import { transitionOrder } from "./order-transition.ts";

export type CancelResult =
  /** cancelled now or before (a repeated cancel); `effect` releases the shard's units (idempotent) */
  | { outcome: "cancelled"; order: OrderView; effect: InventoryEffect }
  /** paid, expired or rejected: a final status that is not ours to change */
  | { outcome: "not_cancellable"; order: OrderView }
  | { outcome: "not_found" };

/**
 * The buyer gives an unpaid order back, in the caller's transaction.
 *
 * Locks the product row, then the order row (the lock order of every writer). A
 * `pending` order becomes `cancelled` and leaves `stock_committed`; a `cancelled` one
 * answers the same again. An order still only `reserved` (its `order.reserved`
 * message not yet written) gets its row now, as `cancelled`, from the shard's
 * reservation record `held`: the consumer's insert of the late message is then a no-op
 * (unique order id), exactly like an orphan written off by the sweeper. `held` was read
 * from the shard before this transaction (reservationUnlessWritten: no network call
 * while the product row is locked). The product lock is the rendezvous with the
 * consumer: while we hold it, no row for this order can appear, so "no row" now plus a
 * reservation read before really means reserved; a row written in between is found
 * here and cancelled as `pending`.
 * Payment events parked for it are settled (a succeeded one now asks for a refund).
 */
export async function cancelOrder(
  em: EntityManager,
  orderId: string,
  productId: number,
  held: ReservationRecord | null,
): Promise<CancelResult> {
  const product = await em.execute(`select 1 from products where id = ? for no key update`, [productId]);
  if (product.length === 0) return { outcome: "not_found" };
  const [row] = await em.execute<Array<{ status: string }>>(`select status from orders where id = ? for update`, [orderId]);
  const release: InventoryEffect = { kind: "release", product_id: productId, order_id: orderId };

  if (!row) {
    if (!held) return { outcome: "not_found" };
    await em.execute(
      `insert into orders (id, product_id, user_id, qty, amount_cents, status, idempotency_key, created_at, updated_at, expires_at)
       values (?, ?, ?, ?, ?, 'cancelled', ?, ?, now(), ?)
       on conflict do nothing`,
      [orderId, productId, held.user_id, held.qty, held.amount_cents, held.idempotency_key, held.created_at, held.expires_at],
    );
    await applyParkedPayments(em, [orderId]);
  } else if (row.status === "pending") {
    await transitionOrder(em, orderId, "cancelled");
  } else if (row.status !== "cancelled") {
    return { outcome: "not_cancellable", order: (await findOrder(em, orderId))! };
  }
  const order = await findOrder(em, orderId);
  // No row although the insert ran: another order holds its Idempotency-Key (only after
  // a shard lost data); the consumer will not write it either, so its units go back.
  if (!order) return { outcome: "not_found" };
  return { outcome: "cancelled", order, effect: release };
}
