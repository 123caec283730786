/**
 * Micro-batched winners: reservations of one product that reach the inventory in the
 * same turn go to Redis as one reserveBatch call, each keeping its own answer, and every
 * accepted one is published and lands in PostgreSQL.
 */
import { jest } from "@jest/globals";
import { startStack, eventually, type Stack } from "../support/stack.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import type { ReserveOutcome } from "../../src/domain/reservation.ts";

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ RESERVE_BATCH_MAX: "64" });
});
afterAll(async () => {
  await stack?.stop();
});

const counter = (name: string) => Number(stack.broker.metrics.getMetric(name)?.get()?.value ?? 0);

test("50 reservations of one product sent together are one script call, each with its own answer, and all winners land", async () => {
  const p = await stack.createProduct({ stock: 30, per_user_limit: 2, max_per_order: 2 });
  const batches0 = counter(METRIC.reserveBatches);
  const requests0 = counter(METRIC.reserveBatched);
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
  await eventually(async () => {
    const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [p.id]);
    return rows[0].n === 30;
  }, 30_000, "30 orders in PostgreSQL");
});

test("more reservations than RESERVE_BATCH_MAX arriving together make full batches and a rest", async () => {
  const p = await stack.createProduct({ stock: 1000, max_per_order: 1 });
  const batches0 = counter(METRIC.reserveBatches);
  const outcomes = await Promise.all(Array.from({ length: 150 }, (_, i) =>
    stack.broker.call<ReserveOutcome, object>("inventory.reserve", { product_id: p.id, qty: 1, user_id: `b${i}` })));
  expect(outcomes.every((o) => o.ok && !o.replayed)).toBe(true);
  expect(counter(METRIC.reserveBatches) - batches0).toBe(3);
});
