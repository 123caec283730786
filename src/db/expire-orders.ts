import type { EntityManager } from "@mikro-orm/postgresql";
import type { InventoryEffect } from "./order-transition.ts";

/**
 * Expires up to `limit` pending orders whose reservation ran out before `now`, and
 * takes their units out of `stock_committed`. SKIP LOCKED plus the status condition
 * let any number of sweepers run at once, and a payment holding an order's row lock
 * wins or loses cleanly: each order changes state exactly once.
 */
export async function expireOrders(em: EntityManager, now: Date, limit: number): Promise<InventoryEffect[]> {
  const expired = await em.execute<Array<{ id: string; product_id: number; qty: number }>>(
    `update orders o set status = 'expired', updated_at = now()
       from (select id from orders where status = 'pending' and expires_at <= ?
              order by expires_at limit ? for update skip locked) due
      where o.id = due.id and o.status = 'pending'
      returning o.id, o.product_id, o.qty`,
    [now, limit],
  );
  const units = new Map<number, number>();
  for (const o of expired) units.set(o.product_id, (units.get(o.product_id) ?? 0) + o.qty);
  for (const productId of [...units.keys()].sort((a, b) => a - b)) {
    await em.execute(`update products set stock_committed = stock_committed - ?, updated_at = now() where id = ?`, [
      units.get(productId), productId,
    ]);
  }
  return expired.map((o) => ({ kind: "release", product_id: o.product_id, order_id: o.id }));
}
