import type { EntityManager } from "@mikro-orm/postgresql";
import { Order } from "../../entities/order.ts";
import type { OrderView, StoredOrderStatus } from "../contracts/order-view.ts";

export async function findOrder(em: EntityManager, orderId: string): Promise<OrderView | null> {
  const o = await em.findOne(Order, { id: orderId });
  if (!o) return null;
  return {
    order_id: o.id,
    // the table's check constraint holds it to the stored statuses
    status: o.status as StoredOrderStatus,
    product_id: o.product.id,
    qty: o.qty,
    user_id: o.userId ?? null,
    amount_cents: Number(o.amountCents),
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
    expires_at: o.expiresAt.toISOString(),
  };
}

/**
 * What a writer of an order that may have no row yet (a cancel, a payment) needs from
 * the order's shard, read BEFORE its transaction so that no network call waits while a
 * product row is locked: `read()` when the order has no row now, else null. Under the
 * product lock afterwards, "no row" plus a reservation read here still means "only
 * reserved": a row is never deleted, and a reservation leaves its shard only once its
 * order's row is committed (or for an order that will never have one).
 */
export async function reservationUnlessWritten<T>(em: EntityManager, orderId: string, read: () => Promise<T | null>): Promise<T | null> {
  const rows = await em.execute(`select 1 from orders where id = ?`, [orderId]);
  return rows.length > 0 ? null : read();
}
