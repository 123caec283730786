import type { EntityManager } from "@mikro-orm/postgresql";
import type { InventoryEffect } from "../contracts/inventory-effects.ts";

/**
 * Moves one pending order to paid or cancelled (conditional: a final status never
 * changes) and keeps the database gate's count right: a cancelled order's units
 * leave `stock_committed`. Returns the inventory effect to apply after commit, or
 * null when the order was no longer pending.
 */
export async function transitionOrder(
  em: EntityManager,
  orderId: string,
  next: "paid" | "cancelled",
): Promise<InventoryEffect | null> {
  // product row before order row: the lock order of every writer (no deadlocks)
  const [owner] = await em.execute<Array<{ product_id: number }>>(`select product_id from orders where id = ?`, [orderId]);
  if (!owner) return null;
  await em.execute(`select 1 from products where id = ? for no key update`, [owner.product_id]);
  const [row] = await em.execute<Array<{ product_id: number; qty: number }>>(
    `update orders set status = ?, updated_at = now() where id = ? and status = 'pending' returning product_id, qty`,
    [next, orderId],
  );
  if (!row) return null;
  if (next === "cancelled") {
    await em.execute(`update products set stock_committed = stock_committed - ?, updated_at = now() where id = ?`, [row.qty, row.product_id]);
  }
  return { kind: next === "paid" ? "commit" : "release", product_id: row.product_id, order_id: orderId };
}
