/**
 * Micro-batched winners: reservations of one product that reach the inventory in the
 * same turn go to Redis as one reserveBatch call, each keeping its own answer, and every
 * accepted one is published and lands in PostgreSQL.
 */
import { jest } from "@jest/globals";
import { startStack, eventually, type Stack } from "../support/stack.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import type { ReserveOutcome } from "../../src/domain/reservation.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { ensureDurableConsumer } from "../../src/lib/jetstream-consumer.ts";

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ RESERVE_BATCH_MAX: "64" });
});
afterAll(async () => {
  await stack?.stop();
});

const counter = (name: string) => Number(stack.broker.metrics.getMetric(name)?.get()?.value ?? 0);
/** Messages ever stored on the order stream (a work queue: they leave it once written). */
const streamSeq = async () => (await stack.nats.jsm.streams.info(streamNames(stack.config.streamPrefix).orders)).state.last_seq;

test("50 reservations of one product sent together are one script call, each with its own answer, and all winners land", async () => {
  const p = await stack.createProduct({ stock: 30, per_user_limit: 2, max_per_order: 2 });
  const batches0 = counter(METRIC.reserveBatches);
  const requests0 = counter(METRIC.reserveBatched);
  const seq0 = await streamSeq();
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    stack.broker.call<ReserveOutcome, object>("inventory.reserve", { product_id: p.id, qty: 1, user_id: `u${i % 20}` }, { meta: { idempotencyKey: i === 7 || i === 27 ? "same-key" : null } })));
  expect(counter(METRIC.reserveBatches) - batches0).toBe(1);
  expect(counter(METRIC.reserveBatched) - requests0).toBe(50);

  const won = outcomes.filter((o) => o.ok);
  const codes = outcomes.filter((o): o is Extract<ReserveOutcome, { ok: false }> => !o.ok).map((o) => o.code);
  // users u0..u19 may hold 2 each (40 > 30 units): the limit and the stock both bite, the key replays once
  const replayed = won.filter((o) => o.ok && o.replayed);
  expect(replayed).toHaveLength(1);
  expect(won.length - replayed.length).toBe(30);
  expect(new Set(codes)).toEqual(new Set(["LIMIT_EXCEEDED", "SOLD_OUT"]));
  const ids = new Set(won.map((o) => (o.ok ? o.order.order_id : "")));
  expect(ids.size).toBe(30);
  // the 30 reservations and the replay were handed to the stream as one message
  expect((await streamSeq()) - seq0).toBe(1);
  await eventually(async () => {
    const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [p.id]);
    return rows[0].n === 30;
  }, 30_000, "30 orders in PostgreSQL");
});

test("more reservations than RESERVE_BATCH_MAX arriving together make full batches and a rest", async () => {
  const p = await stack.createProduct({ stock: 1000, max_per_order: 1 });
  const batches0 = counter(METRIC.reserveBatches);
  const seq0 = await streamSeq();
  const outcomes = await Promise.all(Array.from({ length: 150 }, (_, i) =>
    stack.broker.call<ReserveOutcome, object>("inventory.reserve", { product_id: p.id, qty: 1, user_id: `b${i}` })));
  expect(outcomes.every((o) => o.ok && !o.replayed)).toBe(true);
  expect(counter(METRIC.reserveBatches) - batches0).toBe(3);
  expect((await streamSeq()) - seq0).toBe(3);
  await eventually(async () => {
    const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [p.id]);
    return rows[0].n === 150;
  }, 30_000, "150 orders in PostgreSQL");
});

test("when the order stream refuses a batch's message, every reservation of the batch is 503 and its units are back", async () => {
  const p = await stack.createProduct({ stock: 100, per_user_limit: 1, max_per_order: 1 });
  const names = streamNames(stack.config.streamPrefix);
  const config = await stack.nats.jsm.streams.info(names.orders);
  await stack.nats.jsm.streams.delete(names.orders);
  try {
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      stack.broker.call<ReserveOutcome, object>("inventory.reserve", { product_id: p.id, qty: 1, user_id: `r${i}` },
        { meta: { idempotencyKey: i % 2 === 0 ? `refused-${p.id}-${i}` : null } })));
    expect(attempts.map((a) => a.status === "rejected" && (a.reason as { type?: string }).type)).toEqual(Array(20).fill("UNAVAILABLE"));
    expect(await stack.broker.call("inventory.holders", { product_id: p.id })).toEqual({});
    const shard = await stack.broker.call<{ available: number; reserved: number }, object>("inventory.shard", { product_id: p.id });
    expect(shard).toMatchObject({ available: 100, reserved: 0 });
  } finally {
    await stack.nats.jsm.streams.add(config.config);
    await ensureDurableConsumer(stack.nats.jsm, {
      stream: names.orders, durable: names.ordersConsumer, filterSubject: names.ordersSubjects, ackWaitMs: stack.config.consumerAckWaitMs,
    });
  }
  // the stream is back: the same buyers (and keys, and users' limits) reserve afresh
  const retried = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    stack.broker.call<ReserveOutcome, object>("inventory.reserve", { product_id: p.id, qty: 1, user_id: `r${i}` },
      { meta: { idempotencyKey: i % 2 === 0 ? `refused-${p.id}-${i}` : null } })));
  expect(retried.every((o) => o.ok && !o.replayed)).toBe(true);
  await eventually(async () => {
    const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [p.id]);
    return rows[0].n === 20;
  }, 30_000, "20 orders in PostgreSQL");
});
