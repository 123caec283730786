/**
 * An inventory shard that lost its data (Redis restarted empty, FLUSHALL, failover):
 * detected by its missing epoch, rebuilt from PostgreSQL plus the reservations still
 * in flight on the stream, before it answers again. On a Redis Cluster of this test's
 * own: a FLUSHALL must not hit other tests.
 */
import { jest } from "@jest/globals";
import { Cluster } from "ioredis";
import { startStack, type Stack } from "../support/stack.ts";
import { startRedisCluster, stopRedisCluster } from "../support/redis-cluster.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { withoutOrdersService } from "../support/hold-writer.ts";
import { audit as auditOf, shard as shardOf, streamDrained } from "../support/orders.ts";
import { SHARD_LOSS_REDIS_PORT } from "../support/env.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import { reserveMany } from "../support/reserve.ts";

jest.setTimeout(180_000);

const PORT = SHARD_LOSS_REDIS_PORT;
let stack: Stack;
let redis: Cluster;
beforeAll(async () => {
  const nodes = await startRedisCluster(PORT);
  redis = new Cluster(nodes.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
  await new Promise((resolve) => redis.once("ready", resolve));
  await Promise.all(redis.nodes("master").map((n) => n.flushall()));
  stack = await startStack({ REDIS_NODES: nodes.join(",") });
});
afterAll(async () => {
  await stack?.stop();
  await redis?.quit();
  await stopRedisCluster(PORT);
});

const shard = (productId: number) => shardOf(stack, productId);
const audit = (productId: number) => auditOf(stack, productId);

const drained = () => streamDrained(stack);

test("a FLUSHALL of the cluster mid-sale: the shard is rebuilt from PostgreSQL and the stream, and nothing is oversold", async () => {
  const stock = 300;
  const p = await stack.createProduct({ stock, max_per_order: 1, per_user_limit: 1 });
  const buy = (from: number, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) =>
      stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: `flush-${from + i}` }, { "idempotency-key": `flush-${p.id}-${from + i}` })));
  const first = await buy(0, 150);
  const epochBefore = (await shard(p.id)).epoch;
  const loads = () => Number(stack.broker.metrics.getMetric(METRIC.shardLoads)?.get()?.value ?? 0);
  const loadsBefore = loads();
  await Promise.all(redis.nodes("master").map((n) => n.flushall()));
  const second = await buy(150, 400);
  // the 400 buyers who found the shard gone shared one rebuild (one each took more than the
  // 10 s call timeout on a slow machine: stream and database read 400 times over)
  expect(loads() - loadsBefore).toBe(1);
  const won = [...first, ...second].filter((r) => r.status === 202).length;
  expect([...first, ...second].every((r) => r.status === 202 || (r.status === 409 && r.body.error.code === "SOLD_OUT"))).toBe(true);
  await drained();

  const after = await shard(p.id);
  expect(after.epoch).not.toBe(epochBefore);
  const { rows } = await stack.db.query(
    `select coalesce(sum(qty) filter (where status in ('pending','paid')), 0)::int as units,
            count(*) filter (where status = 'rejected')::int as rejected from orders where product_id = $1`, [p.id]);
  expect(rows[0].units).toBeLessThanOrEqual(stock);
  expect(won - rows[0].rejected).toBe(rows[0].units);
  expect(rows[0].units).toBe(stock);
  const a = await audit(p.id);
  expect(a.products[0]).toMatchObject({ consistent: true, available: 0 });
});


test("a rebuild counts the reservations still in flight on the stream, not stock_total alone", async () => {
  const p = await stack.createProduct({ stock: 10, per_user_limit: 5 });
  await withoutOrdersService(stack, async () => {
    for (const user of ["a", "b", "c"]) {
      expect((await stack.http("POST", "/api/orders", { product_id: p.id, qty: 2, user_id: user })).status).toBe(202);
    }
    // and two more that arrive together: one micro-batch, one stream message holding both
    const seq0 = (await stack.nats.jsm.streams.info(streamNames(stack.config.streamPrefix).orders)).state.last_seq;
    const together = await reserveMany(stack.broker, p.id, ["d", "e"].map((user) => ({ qty: 1, user_id: user })));
    expect(together.every((o) => "ok" in o && o.ok)).toBe(true);
    expect((await stack.nats.jsm.streams.info(streamNames(stack.config.streamPrefix).orders)).state.last_seq - seq0).toBe(1);
    await Promise.all(redis.nodes("master").map((n) => n.flushall()));
    // the first read after the loss rebuilds: 3 orders of 2 and 2 of 1 are still owed their units
    expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(2);
    // per-user holdings came back too
    expect(await stack.broker.call("inventory.holders", { product_id: p.id })).toEqual({ a: 2, b: 2, c: 2, d: 1, e: 1 });
    const more = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 4, user_id: "a" });
    expect(more.status).toBe(409);
    expect(more.body.error.code).toBe("LIMIT_EXCEEDED");
  });
  await drained();
  const { rows } = await stack.db.query("select count(*)::int as n, sum(qty)::int as units from orders where product_id = $1 and status = 'pending'", [p.id]);
  expect(rows[0]).toEqual({ n: 5, units: 8 });
  expect((await audit(p.id)).products[0]).toMatchObject({ consistent: true, available: 2 });
});
