/**
 * The database gate of the order writer (src/db/persist-orders.ts), on a real
 * PostgreSQL: a batch spanning several products passes in one set-based update, and
 * only a product that would be oversold (its shard lost data) has its excess orders,
 * taken in message order, marked `rejected`.
 */
import { jest } from "@jest/globals";
import type { MikroORM } from "@mikro-orm/postgresql";
import { startStack, type Stack } from "../support/stack.ts";
import { committed as committedOf } from "../support/orders.ts";
import { initOrm } from "../../src/lib/db.ts";
import { persistOrders } from "../../src/db/persist-orders.ts";
import { executeBound } from "../../src/db/sql.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";

jest.setTimeout(60_000);

let stack: Stack;
let orm: MikroORM;
beforeAll(async () => {
  stack = await startStack();
  orm = await initOrm(stack.config.databaseUrl, 2);
});
afterAll(async () => {
  await orm?.close();
  await stack?.stop();
});

function message(productId: number, qty: number, user: string): ReservationRecord {
  const now = Date.now();
  return {
    order_id: newOrderId(productId, now), status: "reserved", product_id: productId, qty, user_id: user,
    amount_cents: qty * 1000, created_at: new Date(now).toISOString(), expires_at: new Date(now + 600_000).toISOString(),
    idempotency_key: null,
  };
}

const committed = (id: number) => committedOf(stack, id);

async function statuses(ids: string[]): Promise<string[]> {
  const { rows } = await stack.db.query("select id, status from orders where id = any($1::uuid[])", [ids]);
  const by = new Map(rows.map((r) => [r.id, r.status]));
  return ids.map((id) => by.get(id) ?? "missing");
}

test("a batch over several products commits every product's units in one pass and rejects only the excess of an oversold one, in message order", async () => {
  const a = (await stack.createProduct({ stock: 5, per_user_limit: null, max_per_order: 5 })).id;
  const b = (await stack.createProduct({ stock: 10, per_user_limit: null, max_per_order: 5 })).id;
  const c = (await stack.createProduct({ stock: 4, per_user_limit: null, max_per_order: 5 })).id;
  // product a's shard "lost" 3 committed units: the database knows them, the batch does not
  await stack.db.query("update products set stock_committed = 3 where id = $1", [a]);

  const batch = [message(a, 1, "a1"), message(b, 3, "b1"), message(a, 2, "a2"), message(c, 4, "c1"), message(b, 3, "b2"), message(a, 1, "a3")];
  const result = await orm.em.fork().transactional((em) => persistOrders(em, batch));

  expect(result.inserted.sort()).toEqual(batch.map((m) => m.order_id).sort());
  expect(result.rejected).toEqual([{ order_id: batch[2].order_id, product_id: a, qty: 2 }]);
  expect(await statuses(batch.map((m) => m.order_id))).toEqual(["pending", "pending", "rejected", "pending", "pending", "pending"]);
  expect([await committed(a), await committed(b), await committed(c)]).toEqual([5, 6, 4]);
});

test("the same batch delivered again writes nothing and commits no unit twice", async () => {
  const p = (await stack.createProduct({ stock: 10, per_user_limit: null, max_per_order: 5 })).id;
  const q = (await stack.createProduct({ stock: 10, per_user_limit: null, max_per_order: 5 })).id;
  const batch = [message(p, 2, "p1"), message(q, 5, "q1"), message(p, 3, "p2")];
  await orm.em.fork().transactional((em) => persistOrders(em, batch));
  const again = await orm.em.fork().transactional((em) => persistOrders(em, batch));

  expect(again).toEqual({ inserted: [], rejected: [], duplicates: [], effects: [] });
  expect([await committed(p), await committed(q)]).toEqual([5, 5]);
});

test("two writers persisting batches of the same products at once never deadlock (several orders nodes)", async () => {
  const p = (await stack.createProduct({ stock: 100_000, per_user_limit: null, max_per_order: 5 })).id;
  const q = (await stack.createProduct({ stock: 100_000, per_user_limit: null, max_per_order: 5 })).id;
  const batch = (n: number) => Array.from({ length: n }, (_, i) => message(i % 3 === 0 ? q : p, 1, `w${i}`));
  const other = await initOrm(stack.config.databaseUrl, 2);
  // "at once": rounds whose two transactions overlapped in the database (the second began
  // before the first committed); a round that ran them one after the other proved nothing
  let overlapped = 0;
  try {
    for (let round = 0; round < 15; round++) {
      const a = batch(60);
      const b = batch(60);
      const spans = await Promise.all([orm, other].map((writer, i) => writer.em.fork().transactional(async (em) => {
        const [{ began }] = await em.execute<Array<{ began: string }>>("select clock_timestamp()::text as began");
        await persistOrders(em, i === 0 ? a : b);
        const [{ ended }] = await em.execute<Array<{ ended: string }>>("select clock_timestamp()::text as ended");
        return { began: Date.parse(began), ended: Date.parse(ended) };
      })));
      if (spans[0].began < spans[1].ended && spans[1].began < spans[0].ended) overlapped++;
    }
  } finally {
    await other.close();
  }
  expect(overlapped).toBeGreaterThan(0);
  expect((await committed(p)) + (await committed(q))).toBe(15 * 120);
});

test("executeBound runs in the entity manager's transaction (the writer's insert commits or rolls back with its batch)", async () => {
  const txids = await orm.em.fork().transactional(async (em) => {
    const [a] = await em.execute<Array<{ t: string }>>("select txid_current()::text as t");
    const [b] = await executeBound<{ t: string }>(em, "select txid_current()::text as t", []);
    return [a.t, b.t];
  });
  expect(txids[1]).toBe(txids[0]);
  // and a bound parameter travels as one value, quotes and all
  const [row] = await executeBound<{ v: string }>(orm.em.fork(), "select ($1::jsonb)->>'k' as v", [JSON.stringify({ k: "it's \"bound\"" })]);
  expect(row.v).toBe("it's \"bound\"");
});
