import type { EntityManager } from "@mikro-orm/postgresql";
import { transitionOrder, type InventoryEffect } from "./order-transition.ts";

/**
 * An operator releases a pending order: it becomes `cancelled` (conditional: a final
 * order is left alone) and its units leave `stock_committed`. Returns the inventory
 * effect, or the status that prevented it.
 */
export async function cancelPendingOrder(em: EntityManager, orderId: string): Promise<InventoryEffect | { status: string | null }> {
  const effect = await transitionOrder(em, orderId, "cancelled");
  if (effect) return effect;
  const [row] = await em.execute<Array<{ status: string }>>(`select status from orders where id = ?`, [orderId]);
  return { status: row?.status ?? null };
}
