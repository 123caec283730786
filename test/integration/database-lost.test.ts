/**
 * The order database dropped under a running node (an operator's mistake, a restore
 * that recreates it): PostgreSQL answers "database does not exist" (3D000) instead of
 * refusing connections. For a client this is the same outage as PostgreSQL down: reads
 * of an order still held by its shard are answered from there, others get 503 with
 * Retry-After (never 500), orders are still taken, and the order consumer retries
 * instead of dead-lettering, so what was acknowledged lands once the database is back.
 */
import { jest } from "@jest/globals";
import { newOrderId } from "../../src/domain/order-id.ts";
import { withClient } from "../../src/lib/db.ts";
import { ADMIN_TOKEN, copyTemplateDatabase, startStack, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten } from "../support/orders.ts";
import { PG_ADMIN_URL } from "../support/env.ts";

jest.setTimeout(90_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  await listenForEvents(stack.broker);
  // the pool's idle clients are cut off by the drop: expected here, not a crash
  stack.db.on("error", () => undefined);
});
afterAll(async () => {
  // the restore's copy, if the test stopped before renaming it
  if (stack) await admin(`drop database if exists ${databaseName()}_restore with (force)`);
  await stack?.stop();
});

const admin = (sql: string) => withClient(PG_ADMIN_URL, (c) => c.query(sql));
const databaseName = () => new URL(stack.config.databaseUrl).pathname.slice(1);
const rowOf = async (id: string) => (await stack.db.query("select status from orders where id = $1", [id])).rows[0];

test("a dropped database: held orders read from the shard, other reads and writes 503 UNAVAILABLE, orders taken and landed once it is back", async () => {
  const name = databaseName();
  const p = await stack.createProduct({ stock: 10 });
  const before = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "db-lost-1" });
  expect(before.status).toBe(202);
  await rowsWritten(stack, [before.body.order_id]);
  const [product] = (await stack.db.query("select * from products where id = $1", [p.id])).rows;

  await admin(`drop database ${name} with (force)`);

  // still held by its shard (unpaid): answered from there, as an order not yet in the database is
  const held = await stack.http("GET", `/api/orders/${before.body.order_id}`);
  expect(held.status).toBe(200);
  expect(held.body).toMatchObject({ order_id: before.body.order_id, status: "reserved", qty: 1, user_id: "db-lost-1" });
  // an order of this product that nothing holds: only the database could say
  const unknown = await stack.http("GET", `/api/orders/${newOrderId(p.id)}`);
  expect(unknown.status).toBe(503);
  expect(unknown.body.error.code).toBe("UNAVAILABLE");
  expect(unknown.headers.get("retry-after")).toMatch(/^\d+$/);
  // a write that needs the database
  const cancel = await stack.http("POST", `/api/orders/${before.body.order_id}/cancel`);
  expect(cancel.status).toBe(503);
  expect(cancel.body.error.code).toBe("UNAVAILABLE");
  const restock = await stack.http("POST", `/api/admin/products/${p.id}/restock`, { add: 1 }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(restock.status).toBe(503);
  expect(restock.body.error.code).toBe("UNAVAILABLE");

  // the buy path never touches PostgreSQL
  const during = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 2, user_id: "db-lost-2" });
  expect(during.status).toBe(202);

  // restored as a backup is (migrated, with the product), under another name and then renamed,
  // so the node never sees it half restored: the order acknowledged during the outage lands,
  // it was not dead-lettered
  const restoring = await copyTemplateDatabase(`${name}_restore`);
  const columns = Object.keys(product);
  await withClient(restoring, (c) => c.query(
    `insert into products (${columns.map((col) => `"${col}"`).join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
    columns.map((col) => product[col]),
  ));
  await admin(`alter database ${name}_restore rename to ${name}`);
  await rowsWritten(stack, [during.body.order_id], 60_000);
  expect(await rowOf(during.body.order_id)).toEqual({ status: "pending" });
  const read = await stack.http("GET", `/api/orders/${during.body.order_id}`);
  expect(read.status).toBe(200);
  expect(read.body).toMatchObject({ order_id: during.body.order_id, status: "pending", qty: 2, user_id: "db-lost-2" });
});
