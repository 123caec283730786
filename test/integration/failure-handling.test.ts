/**
 * The failure handling a single node can show without breaking servers: resent calls
 * replay instead of reserving twice, late calls do nothing, a reservation that did not
 * reach a Redis replica is not acknowledged, and SIGTERM's graceful shutdown (unready
 * at once, still answering while it drains, then a clean stop). The cluster faults
 * themselves are test/faults/.
 */
import { jest } from "@jest/globals";
import { startStack, type Stack } from "../support/stack.ts";
import { lifecycleOf } from "../../src/lib/lifecycle.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import type { ReserveOutcome } from "../../src/contracts/reservation.ts";
import { inFlightOrders, streamNames } from "../../src/lib/streams.ts";
import { reserveMany, reserveOne, type ReserveMeta } from "../support/reserve.ts";

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const reserve = (productId: number, opts: { orderId?: string; deadline?: number }) =>
  reserveOne(stack.broker, { product_id: productId, qty: 1, user_id: "resend" }, opts);
const available = async (id: number) => (await stack.http("GET", `/api/products/${id}`)).body.stock_available;

test("a resent reserve call with the gateway's order id replays its own reservation: reserved once, answered as new", async () => {
  const p = await stack.createProduct({ stock: 5 });
  const orderId = newOrderId(p.id);
  const first = await reserve(p.id, { orderId, deadline: Date.now() + 5000 });
  const again = await reserve(p.id, { orderId, deadline: Date.now() + 5000 });
  expect(first).toMatchObject({ ok: true, replayed: false, order: { order_id: orderId } });
  expect(again).toMatchObject({ ok: true, replayed: false, order: { order_id: orderId } });
  expect(await available(p.id)).toBe(4);
  const shard = await stack.broker.call<{ reservations: number }, object>("inventory.shard", { product_id: p.id });
  expect(shard.reservations).toBe(1);
});

test("an order id of another product is not taken: the inventory makes its own", async () => {
  const p = await stack.createProduct({ stock: 5 });
  const foreign = newOrderId(p.id + 1);
  const r = await reserve(p.id, { orderId: foreign });
  expect(r.ok && r.order.order_id).not.toBe(foreign);
});

test("a reserve call that arrives after its caller's deadline reserves nothing and answers UNAVAILABLE", async () => {
  const p = await stack.createProduct({ stock: 5 });
  await expect(reserve(p.id, { orderId: newOrderId(p.id), deadline: Date.now() - 1 })).rejects.toMatchObject({ type: "UNAVAILABLE", code: 503 });
  expect(await available(p.id)).toBe(5);
});

const reserveBatch = (productId: number, orderIds: string[], meta: ReserveMeta) =>
  reserveMany(stack.broker, productId, orderIds.map((order_id, i) => ({ qty: 1, user_id: `batch-${i}`, order_id, idempotency_key: null })), meta);

test("a resent reserveMany batch (a gateway's call retried after a node died) replays each reservation: reserved once, answered as new", async () => {
  const p = await stack.createProduct({ stock: 5 });
  const ids = [newOrderId(p.id), newOrderId(p.id), newOrderId(p.id)];
  const first = await reserveBatch(p.id, ids, { deadline: Date.now() + 5000 });
  const again = await reserveBatch(p.id, ids, { deadline: Date.now() + 5000 });
  for (const answers of [first, again]) {
    expect(answers).toEqual(ids.map((id) => expect.objectContaining({ ok: true, replayed: false, order: expect.objectContaining({ order_id: id }) })));
  }
  expect(await available(p.id)).toBe(2);
});

test("a reserveMany batch that arrives after its caller's deadline reserves nothing and answers UNAVAILABLE", async () => {
  const p = await stack.createProduct({ stock: 5 });
  await expect(reserveBatch(p.id, [newOrderId(p.id), newOrderId(p.id)], { deadline: Date.now() - 1 })).rejects.toMatchObject({ type: "UNAVAILABLE", code: 503 });
  expect(await available(p.id)).toBe(5);
});

test("with REDIS_MIN_REPLICAS=1 and no replica in time, POST /api/orders answers 503 and the units are back", async () => {
  // the suite's Redis Cluster has no replicas: WAIT 1 can never be satisfied
  const strict = await startStack({ REDIS_MIN_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "50" });
  try {
    const p = await strict.createProduct({ stock: 3 });
    const key = `strict-${p.id}`;
    for (let i = 0; i < 2; i++) {
      const r = await strict.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "w" }, { "idempotency-key": key });
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: "UNAVAILABLE", details: { dependency: "redis" } });
      expect(r.headers.get("retry-after")).toBe("1");
    }
    expect((await strict.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(3);
    expect(await strict.broker.call("inventory.holders", { product_id: p.id })).toEqual({});
  } finally {
    await strict.stop();
  }
});

test("GET /health/live and /health/ready answer 200 on a healthy node", async () => {
  expect((await stack.http("GET", "/health/live")).status).toBe(200);
  const ready = await stack.http("GET", "/health/ready");
  expect(ready.status).toBe(200);
  expect(ready.body).toEqual({ status: "ready" });
});

test("graceful shutdown: unready at once, still answering while it drains (Connection: close), then stopped and exit(0)", async () => {
  const node = await startStack({ SHUTDOWN_DRAIN_MS: "400" });
  const p = await node.createProduct({ stock: 2 });
  let exitCode: number | null = null;
  const done = lifecycleOf(node.broker).shutdown("test", (code) => { exitCode = code; });
  const ready = await node.http("GET", "/health/ready");
  expect(ready.status).toBe(503);
  expect(ready.body.error).toMatchObject({ code: "UNAVAILABLE", message: "not ready: shutting down" });
  // the balancer has not noticed yet: what still arrives is answered, on a closing connection
  const order = await node.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "late" });
  expect(order.status).toBe(202);
  expect(order.headers.get("connection")).toBe("close");
  await done;
  expect(exitCode).toBe(0);
  await expect(fetch(`${node.baseUrl}/health/live`)).rejects.toThrow();
  // the order taken during the drain was handed over durably: written, or waiting on the stream
  try {
    const { rows } = await node.db.query("select id from orders where id = $1", [order.body.order_id]);
    const waiting = await inFlightOrders(node.nats.jsm, streamNames(node.config.streamPrefix), p.id);
    expect(rows.length + waiting.filter((o) => o.order_id === order.body.order_id).length).toBe(1);
  } finally {
    await node.stop();
  }
});
