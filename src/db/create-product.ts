import type { EntityManager } from "@mikro-orm/postgresql";
import { Product } from "../../entities/product.ts";
import type { ProductRow } from "./product-snapshot.ts";

export interface NewProduct {
  name: string;
  price_cents: number;
  stock: number;
  currency?: string;
  /** ISO-8601, as createProductParams leaves them */
  sale_starts_at?: string | null;
  sale_ends_at?: string | null;
  per_user_limit?: number | null;
  max_per_order?: number;
  access?: "open" | "queue" | "draw";
  queue_opens_at?: string | null;
  entry_ttl_seconds?: number;
  admit_per_second?: number | null;
  challenge?: boolean;
}

export async function createProduct(em: EntityManager, p: NewProduct): Promise<ProductRow> {
  const product = em.create(Product, {
    name: p.name,
    priceCents: p.price_cents,
    currency: p.currency ?? "USD",
    stockTotal: p.stock,
    stockCommitted: 0,
    saleStartsAt: p.sale_starts_at ? new Date(p.sale_starts_at) : null,
    saleEndsAt: p.sale_ends_at ? new Date(p.sale_ends_at) : null,
    perUserLimit: p.per_user_limit ?? null,
    maxPerOrder: p.max_per_order ?? 10,
    access: p.access ?? "open",
    // a line opens when it is created unless told otherwise (API.md)
    queueOpensAt: p.access && p.access !== "open" ? new Date(p.queue_opens_at ?? Date.now()) : null,
    entryTtlSeconds: p.entry_ttl_seconds ?? 120,
    admitPerSecond: p.admit_per_second ?? null,
    challenge: p.challenge ?? false,
  });
  await em.flush();
  return {
    id: product.id,
    name: product.name,
    price_cents: product.priceCents,
    currency: product.currency,
    stock_total: product.stockTotal,
    stock_committed: product.stockCommitted,
    sale_starts_at: product.saleStartsAt ?? null,
    sale_ends_at: product.saleEndsAt ?? null,
    per_user_limit: product.perUserLimit ?? null,
    max_per_order: product.maxPerOrder,
    access: product.access as ProductRow["access"],
    queue_opens_at: product.queueOpensAt ?? null,
    entry_ttl_seconds: product.entryTtlSeconds,
    admit_per_second: product.admitPerSecond ?? null,
    challenge: product.challenge,
  };
}
