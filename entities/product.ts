import { defineEntity, p } from "@mikro-orm/core";

/**
 * A product on sale. `stockCommitted` counts the units of pending and paid orders:
 * the database gate against overselling is `stock_committed <= stock_total`
 * (a CHECK constraint, and the conditional update in persist-orders).
 */
export const Product = defineEntity({
  name: "Product",
  tableName: "products",
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(200),
    priceCents: p.bigint("number"),
    currency: p.string().length(3).default("USD"),
    stockTotal: p.integer(),
    stockCommitted: p.integer().default(0),
    saleStartsAt: p.datetime().nullable(),
    saleEndsAt: p.datetime().nullable(),
    perUserLimit: p.integer().nullable(),
    maxPerOrder: p.integer().default(10),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  checks: [
    { name: "products_stock_committed_check", expression: "stock_committed >= 0 and stock_committed <= stock_total" },
    { name: "products_price_check", expression: "price_cents >= 0" },
  ],
});
