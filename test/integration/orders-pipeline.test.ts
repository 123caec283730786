/**
 * What only the design's pipeline has: the durable hand-over through JetStream
 * (reservation visible before its row, redelivery, a stream that refuses).
 */
import { jest } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { startStack, useStack, type Stack } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";
import { listenForEvents } from "../support/events.ts";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { withoutOrdersService } from "../support/hold-writer.ts";
import { audit as auditOf, committed, dbOrders as dbOrdersOf, rowsWritten, stockAvailable as stockAvailableOf, streamDrained } from "../support/orders.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { decodeOrderMessages, encodeOrderMessage } from "../../src/domain/order-message.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import { publishReservations } from "../../src/lib/publish-reservation.ts";

jest.setTimeout(120_000);

let stack: Stack;
useStack((s) => (stack = s), { RATE_LIMIT_PER_SECOND: "20", RATE_LIMIT_BURST: "40" }, { events: true });

const order = (body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.http("POST", "/api/orders", body, headers);

const dbOrders = (productId: number) => dbOrdersOf(stack, productId);
const stockAvailable = (productId: number) => stockAvailableOf(stack, productId);

test("a reservation is readable as `reserved` before its row exists", async () => {
  const p = await stack.createProduct({ stock: 5 });
  // hold the order writer back: stop the consumer's service, reserve, read
  const r = await withoutOrdersService(stack, async () => {
    const r = await order({ product_id: p.id, qty: 1, user_id: "early" });
    expect(r.status).toBe(202);
    expect(await dbOrders(p.id)).toHaveLength(0);
    // orders.get lives in the orders service: ask the inventory directly, as orders.get would
    const held = await stack.broker.call("inventory.reservation", { product_id: p.id, order_id: r.body.order_id });
    expect(held).toMatchObject({ order_id: r.body.order_id, status: "reserved", qty: 1 });
    return r;
  });
  await rowsWritten(stack, [r.body.order_id]);
  expect(await dbOrders(p.id)).toEqual([expect.objectContaining({ id: r.body.order_id, status: "pending" })]);
});

test("the same order.reserved message delivered twice makes one order", async () => {
  const p = await stack.createProduct({ stock: 10, price_cents: 100 });
  const names = streamNames(stack.config.streamPrefix);
  const orderId = newOrderId(p.id);
  const now = Date.now();
  const payload = encodeOrderMessage({
    order_id: orderId, status: "reserved", product_id: p.id, qty: 1, user_id: "twice", amount_cents: 100,
    created_at: new Date(now).toISOString(), expires_at: new Date(now + 600_000).toISOString(),
  }, null);
  // two deliveries of the same content, past the stream's deduplication (different message ids)
  await stack.nats.js.publish(names.ordersSubject(p.id), payload, { msgID: `${orderId}-a` });
  await stack.nats.js.publish(names.ordersSubject(p.id), payload, { msgID: `${orderId}-b` });
  await streamDrained(stack); // both deliveries acked
  const rows = await dbOrders(p.id);
  expect(rows).toHaveLength(1);
  expect(rows[0].id).toBe(orderId);
  expect(await committed(stack, p.id)).toBe(1);
});

test("an order in a batch message and again alone (its replay in a later batch) is one order; the batch's others land", async () => {
  const p = await stack.createProduct({ stock: 10, price_cents: 100 });
  const names = streamNames(stack.config.streamPrefix);
  const now = Date.now();
  const reserved = (user: string, key: string | null) => ({
    order_id: newOrderId(p.id), status: "reserved" as const, product_id: p.id, qty: 1, user_id: user, amount_cents: 100,
    created_at: new Date(now).toISOString(), expires_at: new Date(now + 600_000).toISOString(), idempotency_key: key,
  });
  const batch = [reserved("b1", "batch-key-1"), reserved("b2", null), reserved("b3", null)];
  await publishReservations(stack.nats.js, names, batch, 5_000);
  await publishReservations(stack.nats.js, names, [batch[0]], 5_000);
  await streamDrained(stack); // both messages acked
  const rows = await dbOrders(p.id);
  expect(rows.map((r) => r.id).sort()).toEqual(batch.map((o) => o.order_id).sort());
  expect(rows.find((r) => r.id === batch[0].order_id)).toMatchObject({ idempotency_key: "batch-key-1", status: "pending" });
  expect(await committed(stack, p.id)).toBe(3);
});

test("when the order stream cannot take the message, the buyer gets 503 with Retry-After and the stock is as it was", async () => {
  const p = await stack.createProduct({ stock: 10 });
  const names = streamNames(stack.config.streamPrefix);
  const config = await stack.nats.jsm.streams.info(names.orders);
  await stack.nats.jsm.streams.delete(names.orders);
  const key = randomUUID();
  try {
    const r = await order({ product_id: p.id, qty: 2, user_id: "unlucky" }, { "idempotency-key": key });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("UNAVAILABLE");
    expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await stockAvailable(p.id)).toBe(10);
    expect(await stack.broker.call("inventory.holders", { product_id: p.id })).toEqual({});
  } finally {
    await stack.nats.jsm.streams.add(config.config);
    const { ensureDurableConsumer } = await import("../../src/lib/jetstream-consumer.ts");
    await ensureDurableConsumer(stack.nats.jsm, {
      stream: names.orders, durable: names.ordersConsumer, filterSubject: names.ordersSubjects, ackWaitMs: stack.config.consumerAckWaitMs,
    });
  }
  expect(await dbOrders(p.id)).toHaveLength(0);
  // the stream is back: the buyer's retry with the same key is a fresh, successful order
  const retry = await order({ product_id: p.id, qty: 2, user_id: "unlucky" }, { "idempotency-key": key });
  expect(retry.status).toBe(202);
  expect(retry.headers.get("idempotent-replayed")).toBeNull();
  await rowsWritten(stack, [retry.body.order_id]);
  expect(await dbOrders(p.id)).toEqual([expect.objectContaining({ id: retry.body.order_id, status: "pending" })]);
});

test("a 202 order that can never be written (a shard that lost its key records made a second order for a key) is set aside with the dead letters, its units given back, and the audit fails", async () => {
  const own = await startStack();
  try {
    await listenForEvents(own.broker);
    const p = await own.createProduct({ stock: 5, per_user_limit: null });
    const names = streamNames(own.config.streamPrefix);
    const key = `lost-${p.id}`;
    const buy = () => own.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "k" }, { "idempotency-key": key });
    const first = await buy();
    await rowsWritten(own, [first.body.order_id]);
    // the shard forgets the key (what the loss of its records does), so the key makes a second order
    const idem = deploymentKeys(own.config.streamPrefix).product(p.id).idem(key);
    const redis = new Cluster(own.config.redisNodes.map((n) => ({ host: n.split(":")[0], port: Number(n.split(":")[1]) })));
    try {
      expect(await redis.del(idem)).toBe(1);
    } finally {
      await redis.quit();
    }
    const second = await buy();
    expect([second.status, second.headers.get("idempotent-replayed")]).toEqual([202, null]);
    expect(second.body.order_id).not.toBe(first.body.order_id);

    await streamDrained(own);
    const dlq = await eventually(async () => (await own.nats.jsm.streams.info(names.deadLetter)).state.messages === 1 &&
      own.nats.jsm.streams.getMessage(names.deadLetter, { seq: 1 }), 20_000, "the dead letter");
    expect(decodeOrderMessages(dlq.data)).toEqual([expect.objectContaining({ order_id: second.body.order_id, idempotency_key: key })]);
    expect(dlq.header.get("Flash-Error")).toContain(first.body.order_id);
    expect((await dbOrdersOf(own, p.id)).map((o) => o.id)).toEqual([first.body.order_id]);
    await eventually(async () => (await stockAvailableOf(own, p.id)) === 4, 20_000, "the second order's unit back");
    const report = await auditOf(own);
    expect([report.ok, report.pipeline.dead_letters]).toEqual([false, 1]);
  } finally {
    await own.stop();
  }
});
