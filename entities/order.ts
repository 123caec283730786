import { defineEntity, p } from "@mikro-orm/core";
import { Product } from "./product.ts";

/**
 * The statuses an order row can have, in the order of their life (the table's check
 * constraint). The API's list (src/contracts/order-view.ts) is these after `reserved`.
 */
export const STORED_ORDER_STATUSES = ["pending", "paid", "cancelled", "expired", "rejected"] as const;

/**
 * An order that reached the database. Its id is the id the client got with the 202
 * (unique: a redelivered `order.reserved` message never makes a second order).
 * `reserved` is not a stored status: it is an order still only in the shard.
 */
export const Order = defineEntity({
  name: "Order",
  tableName: "orders",
  properties: {
    id: p.uuid().primary(),
    product: () => p.manyToOne(Product).index(),
    userId: p.string().length(64).nullable(),
    qty: p.integer(),
    amountCents: p.bigint("number"),
    status: p.string().length(16),
    idempotencyKey: p.string().length(128).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    expiresAt: p.datetime(),
  },
  indexes: [{ name: "orders_status_expires_idx", properties: ["status", "expiresAt"] }],
  // Idempotency-Keys are global (API.md): even after an inventory shard lost its
  // records, a key can never make a second order.
  uniques: [{ name: "orders_idempotency_key_unique", properties: ["idempotencyKey"] }],
  checks: [
    { name: "orders_status_check", expression: `status in (${STORED_ORDER_STATUSES.map((s) => `'${s}'`).join(",")})` },
    { name: "orders_qty_check", expression: "qty > 0" },
  ],
});
