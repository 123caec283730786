import type { EntityManager } from "@mikro-orm/postgresql";
import { idArray } from "./sql.ts";

/** A product row and the order totals a shard is rebuilt from. */
export interface ProductSnapshot {
  product: ProductRow;
  /** units of paid orders */
  sold: number;
  /** units of pending + paid orders per user */
  users: Record<string, number>;
  /** pending orders: reservations that are in the database and still unpaid */
  pending: Array<{ id: string; qty: number; user_id: string | null; amount_cents: number; expires_at: Date | string; created_at: Date | string; idempotency_key: string | null }>;
}

export interface ProductRow {
  id: number;
  name: string;
  price_cents: number;
  currency: string;
  stock_total: number;
  stock_committed: number;
  sale_starts_at: Date | null;
  sale_ends_at: Date | null;
  per_user_limit: number | null;
  max_per_order: number;
  access: "open" | "queue" | "draw";
  queue_opens_at: Date | null;
  entry_ttl_seconds: number;
  admit_per_second: number | null;
  challenge: boolean;
}

export const PRODUCT_COLUMNS =
  "id, name, price_cents::float8 as price_cents, currency, stock_total, stock_committed, sale_starts_at, sale_ends_at, per_user_limit, max_per_order, access, queue_opens_at, entry_ttl_seconds, admit_per_second, challenge";

export async function productSnapshot(em: EntityManager, productId: number): Promise<ProductSnapshot | null> {
  const [product] = await em.execute<ProductRow[]>(`select ${PRODUCT_COLUMNS} from products where id = ?`, [productId]);
  if (!product) return null;
  const [{ sold }] = await em.execute<Array<{ sold: number }>>(
    `select coalesce(sum(qty), 0)::int as sold from orders where product_id = ? and status = 'paid'`,
    [productId],
  );
  const userRows = await em.execute<Array<{ user_id: string; units: number }>>(
    `select user_id, sum(qty)::int as units from orders
      where product_id = ? and status in ('pending', 'paid') and user_id is not null group by user_id`,
    [productId],
  );
  const pending = await em.execute<ProductSnapshot["pending"]>(
    `select id, qty, user_id, amount_cents::float8 as amount_cents, expires_at, created_at, idempotency_key
       from orders where product_id = ? and status = 'pending'`,
    [productId],
  );
  return { product, sold, users: Object.fromEntries(userRows.map((r) => [r.user_id, r.units])), pending };
}

/** Which of these orders have a row (any status): in-flight messages already written. */
export async function orderIdsInDb(em: EntityManager, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await em.execute<Array<{ id: string }>>(`select id from orders where id = any(?::uuid[])`, [idArray(ids)]);
  return new Set(rows.map((r) => r.id));
}
