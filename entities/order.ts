import { defineEntity, p } from "@mikro-orm/core";
import { Product } from "./product.ts";

export const ORDER_STATUSES = ["pending", "paid", "cancelled", "expired", "rejected"] as const;

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
    { name: "orders_status_check", expression: "status in ('pending','paid','cancelled','expired','rejected')" },
    { name: "orders_qty_check", expression: "qty > 0" },
  ],
});
