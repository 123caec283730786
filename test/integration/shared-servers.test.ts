/**
 * Two deployments (staging and production, say) with their own databases and stream
 * prefixes on ONE Redis Cluster and ONE NATS, each with a product of the same id:
 * a sale in one changes nothing the other sees — stock, idempotency keys, audit —
 * and the same Idempotency-Key makes one order in each.
 */
import { jest } from "@jest/globals";
import { randomInt, randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { TEST_REDIS_NODES } from "../support/env.ts";
import { ADMIN_TOKEN, startStack, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten, streamDrained } from "../support/orders.ts";

jest.setTimeout(60_000);

let staging: Stack;
let production: Stack;
let redis: Cluster;

beforeAll(async () => {
  [staging, production] = await Promise.all([startStack(), startStack()]);
  // startStack gives every database a random product id base: make the two collide
  const base = randomInt(2001, 2147) * 1_000_000;
  for (const s of [staging, production]) await s.db.query(`alter sequence products_id_seq restart with ${base}`);
  for (const s of [staging, production]) await listenForEvents(s.broker);
  redis = new Cluster(TEST_REDIS_NODES.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
});
afterAll(async () => {
  await redis?.quit();
  await Promise.all([staging?.stop(), production?.stop()]);
});

const buy = (s: Stack, productId: number, key: string, qty: number) =>
  s.http("POST", "/api/orders", { product_id: productId, qty, user_id: "buyer-1" }, { "idempotency-key": key });
const stock = async (s: Stack, productId: number) => (await s.http("GET", `/api/products/${productId}`)).body;
const ordersWithKey = async (s: Stack, key: string) =>
  (await s.db.query("select id, product_id, qty from orders where idempotency_key = $1", [key])).rows;
const audit = (s: Stack) => s.http("GET", "/api/admin/audit", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });

test("a sale in one deployment leaves the other's product of the same id, its keys and its audit untouched", async () => {
  const a = await staging.createProduct({ name: "Staging console", stock: 10, price_cents: 100 });
  const b = await production.createProduct({ name: "Production console", stock: 7, price_cents: 300 });
  expect(b.id).toBe(a.id);
  const id = a.id;
  const key = `shared-${randomUUID()}`;

  const sold = await buy(staging, id, key, 2);
  expect(sold.status).toBe(202);
  await rowsWritten(staging, [sold.body.order_id]);
  await streamDrained(staging);
  expect(await ordersWithKey(staging, key)).toEqual([{ id: sold.body.order_id, product_id: id, qty: 2 }]);

  expect(await stock(staging, id)).toMatchObject({ name: "Staging console", stock_available: 8, price_cents: 100 });
  expect(await stock(production, id)).toMatchObject({ name: "Production console", stock_available: 7, price_cents: 300 });
  // production's shard holds no trace of staging's key, in its slot or in the global marker
  const prodKeys = deploymentKeys(production.config.streamPrefix);
  expect(await redis.exists(prodKeys.product(id).idem(key))).toBe(0);
  expect(await redis.exists(prodKeys.idempotencyOwner(key))).toBe(0);
  expect(await redis.hlen(prodKeys.product(id).res)).toBe(0);

  for (const s of [staging, production]) {
    const r = await audit(s);
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
  }
});

test("the same Idempotency-Key in both deployments creates one order in each", async () => {
  const a = await staging.createProduct({ stock: 5 });
  const b = await production.createProduct({ stock: 5 });
  expect(b.id).toBe(a.id);
  const key = `both-${randomUUID()}`;

  const first = await buy(staging, a.id, key, 1);
  const second = await buy(production, b.id, key, 1);
  expect([first.status, second.status]).toEqual([202, 202]);
  expect(second.headers.get("idempotent-replayed")).toBeNull();
  expect(second.body.order_id).not.toBe(first.body.order_id);

  await rowsWritten(staging, [first.body.order_id]);
  await rowsWritten(production, [second.body.order_id]);
  await Promise.all([streamDrained(staging), streamDrained(production)]);
  expect((await ordersWithKey(staging, key)).map((r) => r.id)).toEqual([first.body.order_id]);
  expect((await ordersWithKey(production, key)).map((r) => r.id)).toEqual([second.body.order_id]);
  // a retry in each deployment replays that deployment's own order
  const again = await buy(production, b.id, key, 1);
  expect(again.status).toBe(202);
  expect(again.body.order_id).toBe(second.body.order_id);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect((await stock(staging, a.id)).stock_available).toBe(4);
  expect((await stock(production, b.id)).stock_available).toBe(4);
  for (const s of [staging, production]) expect((await audit(s)).body.ok).toBe(true);
});
