import type { EntityManager } from "@mikro-orm/postgresql";
import { Order } from "../../entities/order.ts";
import type { components } from "../../client/schema.d.ts";

/** An order as GET /api/orders/{id} shows it: the published answer (src/lib/openapi/answers.ts). */
export type OrderView = components["schemas"]["Order"];

export async function findOrder(em: EntityManager, orderId: string): Promise<OrderView | null> {
  const o = await em.findOne(Order, { id: orderId });
  if (!o) return null;
  return {
    order_id: o.id,
    // the table's check constraint holds it to the statuses of API.md
    status: o.status as OrderView["status"],
    product_id: o.product.id,
    qty: o.qty,
    user_id: o.userId ?? null,
    amount_cents: Number(o.amountCents),
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
    expires_at: o.expiresAt.toISOString(),
  };
}
