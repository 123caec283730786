/**
 * The order contract of API.md over HTTP, run against both inventory modes: the
 * design (Redis Cluster shards + JetStream + PostgreSQL) and the pg-lock baseline.
 * Neither may oversell, break a limit or make two orders for one Idempotency-Key.
 */
import { jest } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { useStack, type Stack } from "../support/stack.ts";
import { holdOrderWriter } from "../support/hold-writer.ts";
import { committed, dbOrders as dbOrdersOf, rowsWritten, stockAvailable as stockAvailableOf, streamDrained, tally } from "../support/orders.ts";

// the pg-lock baseline's stampede below is as slow as the machine (one row lock, one buyer at a time)
jest.setTimeout(300_000);

describe.each(["redis", "pg-lock"])("INVENTORY_MODE=%s", (mode) => {
let stack: Stack;
// The pg-lock baseline queues all 3,000 buyers of the stampede behind one row lock: on a
// loaded 2-core machine the last ones wait longer than the default 10 s call timeout (94 s
// once, on a machine slowed to a third of its speed: a minute was not enough). This suite
// checks what each mode answers, not how fast: the calls may wait four minutes.
useStack((s) => (stack = s), { INVENTORY_MODE: mode, RATE_LIMIT_PER_SECOND: "20", RATE_LIMIT_BURST: "40", REQUEST_TIMEOUT_MS: "240000" }, { events: true });

const order = (body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.http("POST", "/api/orders", body, headers);

const dbOrders = (productId: number) => dbOrdersOf(stack, productId);
const stockAvailable = (productId: number) => stockAvailableOf(stack, productId);

test("3,000 concurrent buyers for 200 units: exactly 200 win, all others are told SOLD_OUT, 200 orders land, the database gate never trips", async () => {
  const p = await stack.createProduct({ stock: 200, max_per_order: 1, per_user_limit: 1 });
  const replies = await Promise.all(
    Array.from({ length: 3000 }, (_, i) => order({ product_id: p.id, qty: 1, user_id: `buyer-${i}` }, { "idempotency-key": `stampede-${p.id}-${i}` })),
  );
  expect(tally(replies)).toEqual({ "202": 200, "409 SOLD_OUT": 2800 });
  const winners = replies.filter((r) => r.status === 202);
  expect(new Set(winners.map((r) => r.body.order_id)).size).toBe(200);

  await rowsWritten(stack, winners.map((r) => r.body.order_id), 30_000);
  await streamDrained(stack);
  const rows = await dbOrders(p.id);
  expect(rows).toHaveLength(200);
  expect(rows.every((r) => r.status === "pending")).toBe(true);
  expect(new Set(rows.map((r) => r.id))).toEqual(new Set(winners.map((r) => r.body.order_id)));
  expect(await stockAvailable(p.id)).toBe(0);
  expect(await committed(stack, p.id)).toBe(200);
});

test("a 202 carries the order, its Location, and the order can be read at once (reserved until its row is written), then from the database", async () => {
  const p = await stack.createProduct({ stock: 5, price_cents: 4990 });
  // the design's writer held back, so that its row is not written yet; the pg-lock
  // baseline writes the row with the reservation (holding it would hold the order)
  const release = mode === "redis" ? await holdOrderWriter(stack, p.id) : async () => undefined;
  let r, first;
  try {
    r = await order({ product_id: p.id, qty: 2, user_id: "u-1" });
    first = await stack.http("GET", `/api/orders/${r.body.order_id}`);
  } finally {
    await release();
  }
  expect(r.status).toBe(202);
  expect(r.body).toEqual({
    order_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "reserved", product_id: p.id, qty: 2,
    user_id: "u-1", amount_cents: 9980, expires_at: expect.any(String),
  });
  expect(r.headers.get("location")).toBe(`/api/orders/${r.body.order_id}`);
  const expires = Date.parse(r.body.expires_at) - Date.now();
  expect(expires).toBeGreaterThan(590_000);
  expect(expires).toBeLessThanOrEqual(600_000);
  expect([first.status, first.body.status]).toEqual([200, mode === "redis" ? "reserved" : "pending"]);
  await rowsWritten(stack, [r.body.order_id]);
  const persisted = (await stack.http("GET", `/api/orders/${r.body.order_id}`)).body;
  expect(persisted.status).toBe("pending");
  expect(persisted).toMatchObject({ order_id: r.body.order_id, product_id: p.id, qty: 2, user_id: "u-1", amount_cents: 9980 });
  expect(Date.parse(persisted.expires_at)).toBe(Date.parse(r.body.expires_at));
});

test("per-user limit holds under a concurrent burst from one user", async () => {
  const p = await stack.createProduct({ stock: 100, per_user_limit: 3, max_per_order: 3 });
  const replies = await Promise.all(Array.from({ length: 30 }, () => order({ product_id: p.id, qty: 1, user_id: "greedy" })));
  expect(tally(replies)).toEqual({ "202": 3, "409 LIMIT_EXCEEDED": 27 });
  expect(await stockAvailable(p.id)).toBe(97);
  // another user is not affected
  expect((await order({ product_id: p.id, qty: 3, user_id: "other" })).status).toBe(202);
});

test("a product with a per-user limit requires user_id", async () => {
  const p = await stack.createProduct({ stock: 10, per_user_limit: 1 });
  const r = await order({ product_id: p.id, qty: 1 });
  expect(r.status).toBe(422);
  expect(r.body.error.code).toBe("VALIDATION_ERROR");
  expect(await stockAvailable(p.id)).toBe(10);
});

test("qty above max_per_order is a 422 and INSUFFICIENT_STOCK tells how many are left", async () => {
  const p = await stack.createProduct({ stock: 3, max_per_order: 5 });
  const over = await order({ product_id: p.id, qty: 6, user_id: "a" });
  expect(over.status).toBe(422);
  expect(over.body.error.code).toBe("VALIDATION_ERROR");
  const few = await order({ product_id: p.id, qty: 4, user_id: "a" });
  expect(few.status).toBe(409);
  expect(few.body.error).toMatchObject({ code: "INSUFFICIENT_STOCK", details: { available: 3 } });
});

test("the sale window is enforced: SALE_NOT_ACTIVE before the start and after the end", async () => {
  const soon = await stack.createProduct({ stock: 3, sale_starts_at: new Date(Date.now() + 3600_000).toISOString() });
  const past = await stack.createProduct({ stock: 3, sale_ends_at: new Date(Date.now() - 1000).toISOString() });
  for (const p of [soon, past]) {
    const r = await order({ product_id: p.id, qty: 1, user_id: "a" });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("SALE_NOT_ACTIVE");
  }
});

describe("idempotency", () => {
  test("a retry with the same key and body returns the same order, reserves nothing more, and says so", async () => {
    const p = await stack.createProduct({ stock: 10 });
    const key = randomUUID();
    const a = await order({ product_id: p.id, qty: 2, user_id: "k" }, { "idempotency-key": key });
    const b = await order({ product_id: p.id, qty: 2, user_id: "k" }, { "idempotency-key": key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body).toEqual(a.body);
    expect(a.headers.get("idempotent-replayed")).toBeNull();
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await stockAvailable(p.id)).toBe(8);
    await rowsWritten(stack, [a.body.order_id]);
    await streamDrained(stack);
    expect(await dbOrders(p.id)).toEqual([expect.objectContaining({ id: a.body.order_id, idempotency_key: key })]);
  });

  test("the same key with another body is 422 IDEMPOTENCY_KEY_REUSED and changes nothing", async () => {
    const p = await stack.createProduct({ stock: 10 });
    const key = randomUUID();
    expect((await order({ product_id: p.id, qty: 1, user_id: "k" }, { "idempotency-key": key })).status).toBe(202);
    const other = await order({ product_id: p.id, qty: 3, user_id: "k" }, { "idempotency-key": key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await stockAvailable(p.id)).toBe(9);
  });

  test("the same key for another product is 422 and leaves that product's stock alone", async () => {
    const p1 = await stack.createProduct({ stock: 10 });
    const p2 = await stack.createProduct({ stock: 10 });
    const key = randomUUID();
    expect((await order({ product_id: p1.id, qty: 1, user_id: "k" }, { "idempotency-key": key })).status).toBe(202);
    const other = await order({ product_id: p2.id, qty: 1, user_id: "k" }, { "idempotency-key": key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await stockAvailable(p2.id)).toBe(10);
  });

  test("20 concurrent retries with one key make one order", async () => {
    const p = await stack.createProduct({ stock: 100 });
    const key = randomUUID();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => order({ product_id: p.id, qty: 1, user_id: "racer" }, { "idempotency-key": key })),
    );
    expect(replies.every((r) => r.status === 202)).toBe(true);
    expect(new Set(replies.map((r) => r.body.order_id)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(19);
    expect(await stockAvailable(p.id)).toBe(99);
    await rowsWritten(stack, [replies[0].body.order_id]);
    // and no second one arrives later: every message taken
    await streamDrained(stack);
    const { rows } = await stack.db.query("select count(*)::int as n from orders where idempotency_key = $1", [key]);
    expect(rows[0].n).toBe(1);
  });

  test("an Idempotency-Key that is too long or not printable ASCII is a 422", async () => {
    const p = await stack.createProduct({ stock: 10 });
    const r = await order({ product_id: p.id, qty: 1, user_id: "k" }, { "idempotency-key": "x".repeat(129) });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect(await stockAvailable(p.id)).toBe(10);
  });
});

});
