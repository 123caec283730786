import type { EntityManager } from "@mikro-orm/postgresql";
import type { DbReading } from "../domain/audit.ts";
import { idArray } from "./sql.ts";

/** The database side of the audit for a set of products (all products when ids is null). */
export async function orderTotals(em: EntityManager, ids: number[] | null): Promise<Map<number, DbReading>> {
  const rows = await em.execute<Array<DbReading & { id: number }>>(
    `select p.id, p.stock_total, p.stock_committed, p.per_user_limit,
            coalesce(t.pending_units, 0)::int as pending_units, coalesce(t.paid_units, 0)::int as paid_units,
            coalesce(u.max_user_units, 0)::int as max_user_units, coalesce(d.doubly, 0)::int as doubly_applied_events
       from products p
       left join (select product_id,
                         sum(qty) filter (where status = 'pending') as pending_units,
                         sum(qty) filter (where status = 'paid') as paid_units
                    from orders group by product_id) t on t.product_id = p.id
       left join (select product_id, max(units) as max_user_units
                    from (select product_id, user_id, sum(qty) as units from orders
                           where status in ('pending', 'paid') and user_id is not null
                           group by product_id, user_id) x group by product_id) u on u.product_id = p.id
       left join (select o.product_id, count(*) as doubly
                    from (select order_id from payment_events where outcome = 'applied'
                           group by order_id having count(*) > 1) e
                    join orders o on o.id = e.order_id group by o.product_id) d on d.product_id = p.id
      where (?::int[] is null or p.id = any(?::int[]))
      order by p.id`,
    [ids && idArray(ids), ids && idArray(ids)],
  );
  return new Map(rows.map((r) => [r.id, r]));
}
