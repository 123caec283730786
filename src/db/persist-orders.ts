import type { EntityManager } from "@mikro-orm/postgresql";
import type { ReservationRecord } from "../contracts/reservation.ts";
import { applyParkedPayments } from "./apply-payment.ts";
import { executeBound, idArray } from "./sql.ts";
import type { InventoryEffect } from "../contracts/inventory-effects.ts";

export interface PersistResult {
  /** orders written by this call (a redelivered order is not in here: it already existed) */
  inserted: string[];
  /** orders refused by the database gate (stock_committed + qty > stock_total) */
  rejected: Array<{ order_id: string; product_id: number; qty: number }>;
  /**
   * orders not written because another order (`held_by`) already holds their
   * Idempotency-Key (possible only after a shard lost its idempotency records): their
   * units go back, and the consumer sets them aside with the dead letters
   */
  duplicates: Array<{ order: ReservationRecord; held_by: string | null }>;
  /** what parked early webhooks did to the new orders, for the inventory after commit */
  effects: InventoryEffect[];
}

/**
 * Writes a batch of reserved orders as `pending`, idempotent on the order id, and
 * passes them through the database gate: one conditional update of `stock_committed`
 * per product for the whole batch, all products in one statement; only when that
 * would oversell a product are its orders taken one by one (in message order) and
 * the excess marked `rejected`. The batch's products are locked in id order before
 * anything is written, so concurrent writers (several orders nodes, payments, the
 * sweeper) cannot deadlock.
 * Then applies the payment events parked for these orders: the product row locks
 * taken above are the rendezvous with a concurrent webhook (see apply-payment.ts).
 * Runs inside the caller's transaction.
 */
export async function persistOrders(em: EntityManager, orders: ReservationRecord[]): Promise<PersistResult> {
  if (orders.length === 0) return { inserted: [], rejected: [], duplicates: [], effects: [] };
  const unique = [...new Map(orders.map((o) => [o.order_id, o])).values()];

  // The batch's product rows first, in id order: inserting an order takes a KEY SHARE
  // lock on its product (the foreign key), and a writer that inserted before locking
  // would deadlock with another writer, or with a payment, upgrading the same row.
  const productIds = [...new Set(unique.map((o) => o.product_id))].sort((a, b) => a - b);
  await em.execute(`select id from products where id = any(?::int[]) order by id for update`, [idArray(productIds)]);

  // Inserted in id order: two writers holding the same redelivered orders take their
  // unique-index locks in the same order.
  const rows = [...unique].sort((a, b) => (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0)).map((o) => ({
    id: o.order_id, product_id: o.product_id, user_id: o.user_id, qty: o.qty, amount_cents: o.amount_cents,
    idempotency_key: o.idempotency_key, created_at: o.created_at, expires_at: o.expires_at,
  }));
  const inserted = await executeBound<{ id: string }>(em,
    `insert into orders (id, product_id, user_id, qty, amount_cents, status, idempotency_key, created_at, updated_at, expires_at)
     select t.id, t.product_id, t.user_id, t.qty, t.amount_cents, 'pending', t.idempotency_key, t.created_at, now(), t.expires_at
       from jsonb_to_recordset($1::jsonb) as t(id uuid, product_id int, user_id varchar, qty int, amount_cents bigint,
                                              idempotency_key varchar, created_at timestamptz, expires_at timestamptz)
     on conflict do nothing
     returning id`,
    [JSON.stringify(rows)],
  );
  const fresh = new Set(inserted.map((r) => r.id));
  const skipped = unique.filter((o) => !fresh.has(o.order_id));
  let duplicates: PersistResult["duplicates"] = [];
  if (skipped.length > 0) {
    const existing = await em.execute<Array<{ id: string }>>(`select id from orders where id = any(?::uuid[])`, [
      idArray(skipped.map((o) => o.order_id)),
    ]);
    const known = new Set(existing.map((r) => r.id));
    const lost = skipped.filter((o) => !known.has(o.order_id));
    if (lost.length > 0) {
      const holders = await executeBound<{ id: string; idempotency_key: string }>(em,
        `select id, idempotency_key from orders where idempotency_key = any($1::varchar[])`,
        [lost.map((o) => o.idempotency_key ?? "")],
      );
      const holder = new Map(holders.map((h) => [h.idempotency_key, h.id]));
      duplicates = lost.map((order) => ({ order, held_by: holder.get(order.idempotency_key ?? "") ?? null }));
    }
  }
  const byProduct = new Map<number, ReservationRecord[]>();
  for (const o of unique) {
    if (!fresh.has(o.order_id)) continue;
    const list = byProduct.get(o.product_id) ?? [];
    list.push(o);
    byProduct.set(o.product_id, list);
  }

  // The gate for every product of the batch in one set-based conditional update.
  const units = [...byProduct].map(([id, list]) => ({ id, units: list.reduce((s, o) => s + o.qty, 0) }));
  const passed = await executeBound<{ id: number }>(em,
    `update products p set stock_committed = p.stock_committed + b.units, updated_at = now()
       from jsonb_to_recordset($1::jsonb) as b(id int, units int)
      where p.id = b.id and p.stock_committed + b.units <= p.stock_total
      returning p.id`,
    [JSON.stringify(units)],
  );
  const whole = new Set(passed.map((r) => r.id));

  // Only after a shard lost data: the batch would oversell a product. Take its orders
  // one by one, in message order, and mark the excess rejected.
  const rejected: PersistResult["rejected"] = [];
  for (const { id: productId } of units) {
    if (whole.has(productId)) continue;
    const list = byProduct.get(productId)!;
    const [row] = await em.execute<Array<{ stock_total: number; stock_committed: number }>>(
      `select stock_total, stock_committed from products where id = ?`,
      [productId],
    );
    let room = row ? row.stock_total - row.stock_committed : 0;
    let accepted = 0;
    for (const o of list) {
      if (o.qty <= room) {
        room -= o.qty;
        accepted += o.qty;
      } else {
        rejected.push({ order_id: o.order_id, product_id: productId, qty: o.qty });
      }
    }
    if (accepted > 0) {
      await em.execute(`update products set stock_committed = stock_committed + ?, updated_at = now() where id = ?`, [accepted, productId]);
    }
  }
  if (rejected.length > 0) {
    await em.execute(`update orders set status = 'rejected', updated_at = now() where id = any(?::uuid[])`, [
      idArray(rejected.map((r) => r.order_id)),
    ]);
  }
  const effects = await applyParkedPayments(em, [...fresh]);
  return { inserted: [...fresh], rejected, duplicates, effects };
}
