import type { EntityManager } from "@mikro-orm/postgresql";
import type { ReservationRecord } from "../contracts/reservation.ts";
import type { StoredOrderStatus } from "../contracts/order-view.ts";
import { applyParkedPayments } from "./apply-payment.ts";

export type OrphanStatus = StoredOrderStatus | "unknown_product";

/**
 * A reservation past its expiry (plus grace) in the shard. If its order never reached
 * the database (the process died between the Lua step and the publish), write it as
 * `expired` now: the unique order id makes a late `order.reserved` message a no-op,
 * so its units can be released safely. Parked webhooks for it are settled too
 * (a payment taken for it is answered with refund_required). The product row lock
 * is the same rendezvous the order consumer and the payments service use.
 * Returns the order's status in the database after this call.
 */
export async function settleOrphan(em: EntityManager, r: ReservationRecord): Promise<OrphanStatus> {
  const product = await em.execute(`select 1 from products where id = ? for update`, [r.product_id]);
  if (product.length === 0) return "unknown_product"; // not this database's product: not ours to settle
  const inserted = await em.execute<Array<{ id: string }>>(
    `insert into orders (id, product_id, user_id, qty, amount_cents, status, idempotency_key, created_at, updated_at, expires_at)
     values (?, ?, ?, ?, ?, 'expired', ?, ?, now(), ?)
     on conflict do nothing returning id`,
    [r.order_id, r.product_id, r.user_id, r.qty, r.amount_cents, r.idempotency_key, r.created_at, r.expires_at],
  );
  if (inserted.length === 1) {
    await applyParkedPayments(em, [r.order_id]);
    return "expired";
  }
  const [row] = await em.execute<Array<{ status: OrphanStatus }>>(`select status from orders where id = ?`, [r.order_id]);
  // no row although the insert conflicted: another order holds its Idempotency-Key
  return row?.status ?? "rejected";
}
