/**
 * An order as the API shows it (GET /api/orders/{id}, the cancel's answer, the live
 * order stream): answered by the orders service, shown by the gateway. Its statuses are
 * THE list of order statuses; the database stores all of them but `reserved`, which is
 * an order still only in its shard.
 */
import { STORED_ORDER_STATUSES } from "../../entities/order.ts";

export const ORDER_STATUSES = ["reserved", ...STORED_ORDER_STATUSES] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The statuses an order row can have (the `orders` table's check constraint, entities/order.ts). */
export type StoredOrderStatus = (typeof STORED_ORDER_STATUSES)[number];
export { STORED_ORDER_STATUSES };

export interface OrderView {
  order_id: string;
  status: OrderStatus;
  product_id: number;
  qty: number;
  user_id: string | null;
  amount_cents: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
}
