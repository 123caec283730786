import type { EntityManager } from "@mikro-orm/postgresql";
import type { OrderRequest, ReserveOutcome } from "../contracts/reservation.ts";
import { KEY_REUSED, refuse, SOLD_OUT } from "../domain/reservation.ts";
import { PRODUCT_COLUMNS, type ProductRow } from "./product-snapshot.ts";

/**
 * The naive baseline (INVENTORY_MODE=pg-lock), the way most shops start: one
 * transaction per order, `SELECT … FOR UPDATE` on the product row, every rule
 * checked against the database, the order row written synchronously. Correct, and
 * serial per product: every buyer — the sold-out ones too — waits for the row lock.
 * Runs inside the caller's transaction.
 */
interface PriorOrder { id: string; product_id: number; qty: number; user_id: string | null; amount_cents: number; created_at: Date; expires_at: Date }
const PRIOR_COLUMNS = "id, product_id, qty, user_id, amount_cents::float8 as amount_cents, created_at, expires_at";
const reservedView = (o: PriorOrder) => ({
  order_id: o.id, status: "reserved" as const, product_id: o.product_id, qty: o.qty, user_id: o.user_id,
  amount_cents: o.amount_cents, created_at: new Date(o.created_at).toISOString(), expires_at: new Date(o.expires_at).toISOString(),
});

export async function reserveWithRowLock(
  em: EntityManager,
  req: OrderRequest,
  idempotencyKey: string | null,
  orderId: string,
  now: Date,
  ttlSeconds: number,
): Promise<ReserveOutcome> {
  const [p] = await em.execute<ProductRow[]>(`select ${PRODUCT_COLUMNS} from products where id = ? for update`, [req.product_id]);
  if (!p) return refuse("PRODUCT_NOT_FOUND", `product ${req.product_id} does not exist`);

  // this very order already placed (a resent call whose first answer was lost): its answer again
  const [own] = await em.execute<PriorOrder[]>(`select ${PRIOR_COLUMNS} from orders where id = ?`, [orderId]);
  if (own) return { ok: true, replayed: false, order: reservedView(own) };
  if (idempotencyKey) {
    const [prior] = await em.execute<PriorOrder[]>(`select ${PRIOR_COLUMNS} from orders where idempotency_key = ?`, [idempotencyKey]);
    if (prior) {
      if (prior.product_id !== req.product_id || prior.qty !== req.qty || prior.user_id !== (req.user_id ?? null)) {
        return KEY_REUSED;
      }
      return { ok: true, replayed: true, order: reservedView(prior) };
    }
  }
  if (req.qty > p.max_per_order) {
    return refuse("VALIDATION_ERROR", `qty exceeds max_per_order (${p.max_per_order})`, { fields: { qty: `must be at most ${p.max_per_order}` } });
  }
  if (p.per_user_limit !== null && !req.user_id) {
    return refuse("VALIDATION_ERROR", "user_id is required for a product with a per-user limit", { fields: { user_id: "required" } });
  }
  // raw rows carry timestamps as the driver gives them: compare as instants
  if (p.sale_starts_at && now.getTime() < new Date(p.sale_starts_at).getTime()) return refuse("SALE_NOT_ACTIVE", "the sale has not started yet");
  if (p.sale_ends_at && now.getTime() >= new Date(p.sale_ends_at).getTime()) return refuse("SALE_NOT_ACTIVE", "the sale has ended");
  if (p.per_user_limit !== null) {
    const [{ held }] = await em.execute<Array<{ held: number }>>(
      `select coalesce(sum(qty), 0)::int as held from orders where product_id = ? and user_id = ? and status in ('pending', 'paid')`,
      [req.product_id, req.user_id],
    );
    if (held + req.qty > p.per_user_limit) {
      return refuse("LIMIT_EXCEEDED", `the per-user limit is ${p.per_user_limit} units`, { held, per_user_limit: p.per_user_limit });
    }
  }
  const available = p.stock_total - p.stock_committed;
  if (available <= 0) return SOLD_OUT;
  if (available < req.qty) return refuse("INSUFFICIENT_STOCK", `only ${available} units left`, { available });

  const amount = Number(p.price_cents) * req.qty;
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  await em.execute(
    `insert into orders (id, product_id, user_id, qty, amount_cents, status, idempotency_key, created_at, updated_at, expires_at)
     values (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    [orderId, req.product_id, req.user_id ?? null, req.qty, amount, idempotencyKey, now, now, expiresAt],
  );
  await em.execute(`update products set stock_committed = stock_committed + ?, updated_at = now() where id = ?`, [req.qty, req.product_id]);
  return {
    ok: true, replayed: false,
    order: {
      order_id: orderId, status: "reserved", product_id: req.product_id, qty: req.qty, user_id: req.user_id ?? null,
      amount_cents: amount, created_at: now.toISOString(), expires_at: expiresAt.toISOString(),
    },
  };
}
