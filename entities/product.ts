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
    /** "open", "queue" or "draw" (API.md, Fair access) */
    access: p.string().length(8).default("open"),
    queueOpensAt: p.datetime().nullable(),
    entryTtlSeconds: p.integer().default(120),
    admitPerSecond: p.integer().nullable(),
    challenge: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  checks: [
    { name: "products_stock_committed_check", expression: "stock_committed >= 0 and stock_committed <= stock_total" },
    { name: "products_price_check", expression: "price_cents >= 0" },
    { name: "products_access_check", expression: "access in ('open', 'queue', 'draw')" },
  ],
});
