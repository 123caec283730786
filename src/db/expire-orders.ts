import type { EntityManager } from "@mikro-orm/postgresql";
import type { InventoryEffect } from "../contracts/inventory-effects.ts";
import { idArray } from "./sql.ts";

/**
 * Expires up to `limit` pending orders whose reservation ran out before `now`, and
 * takes their units out of `stock_committed`. Locks go product row first, then order
 * rows — the order every other writer uses (payments, the order consumer), so no
 * deadlock — and the status condition plus SKIP LOCKED let any number of sweepers
 * run at once while a payment holding an order wins or loses cleanly: each order
 * changes state exactly once.
 */
export async function expireOrders(em: EntityManager, now: Date, limit: number): Promise<InventoryEffect[]> {
  const due = await em.execute<Array<{ product_id: number }>>(
    `select distinct product_id from (select product_id from orders where status = 'pending' and expires_at <= ?
      order by expires_at limit ?) d order by product_id`,
    [now, limit],
  );
  if (due.length === 0) return [];
  const products = due.map((d) => d.product_id);
  await em.execute(`select id from products where id = any(?::int[]) order by id for no key update`, [idArray(products)]);
  const expired = await em.execute<Array<{ id: string; product_id: number; qty: number }>>(
    `update orders o set status = 'expired', updated_at = now()
       from (select id from orders where status = 'pending' and expires_at <= ? and product_id = any(?::int[])
              order by expires_at limit ? for update skip locked) due
      where o.id = due.id and o.status = 'pending'
      returning o.id, o.product_id, o.qty`,
    [now, idArray(products), limit],
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
