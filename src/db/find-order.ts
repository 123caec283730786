import type { EntityManager } from "@mikro-orm/postgresql";
import { Order } from "../../entities/order.ts";
import type { OrderView, StoredOrderStatus } from "../contracts/order-view.ts";

/** Only for src/db/cancel-order.ts (being rewritten elsewhere): it imports OrderView from the contracts at the merge, then this goes. */
export type { OrderView };

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
