/**
 * An order as the API shows it (GET /api/orders/{id}, the cancel's answer, the live
 * order stream): answered by the orders service, shown by the gateway. Its statuses are
 * THE list of order statuses; the database stores all of them but `reserved`, which is
 * an order still only in its shard.
 */
export const ORDER_STATUSES = ["reserved", "pending", "paid", "cancelled", "expired", "rejected"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The statuses an order row can have (the `orders` table's check constraint). */
export type StoredOrderStatus = Exclude<OrderStatus, "reserved">;
export const STORED_ORDER_STATUSES: readonly StoredOrderStatus[] = ORDER_STATUSES.filter((s): s is StoredOrderStatus => s !== "reserved");

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
