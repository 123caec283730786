import type { EntityManager } from "@mikro-orm/postgresql";
import { Order } from "../../entities/order.ts";

/** An order as GET /api/orders/{id} shows it. */
export interface OrderView {
  order_id: string;
  status: string;
  product_id: number;
  qty: number;
  user_id: string | null;
  amount_cents: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
}

export async function findOrder(em: EntityManager, orderId: string): Promise<OrderView | null> {
  const o = await em.findOne(Order, { id: orderId });
  if (!o) return null;
  return {
    order_id: o.id,
    status: o.status,
    product_id: o.product.id,
    qty: o.qty,
    user_id: o.userId ?? null,
    amount_cents: Number(o.amountCents),
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
    expires_at: o.expiresAt.toISOString(),
  };
}
