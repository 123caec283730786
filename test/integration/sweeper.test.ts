/**
 * Time and recovery: expiry of unpaid orders (also racing payments and other
 * sweepers), reservations whose message never reached the stream, a shard wiped
 * mid-sale, and the audit naming what is wrong. "Now" is passed to the sweeper.
 */
import { jest } from "@jest/globals";
import { Cluster } from "ioredis";
import { startStack, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { Interleavings, staggered } from "../support/interleavings.ts";
import { audit as auditOf, committed, orderStatus, pendingOrder as pendingOf, reservedWithoutMessage, shard as shardOf, streamDrained } from "../support/orders.ts";
import { sendWebhook, eventId } from "../support/webhooks.ts";
import { TEST_REDIS_NODES } from "../support/env.ts";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { encodeOrderMessage } from "../../src/domain/order-message.ts";
import { replCommands } from "../../src/ops/repl-commands.ts";

jest.setTimeout(180_000);

let stack: Stack;
let redis: Cluster;
beforeAll(async () => {
  stack = await startStack({ SWEEP_INTERVAL_MS: "3600000", ORPHAN_GRACE_SECONDS: "30" });
  await listenForEvents(stack.broker);
  redis = new Cluster(TEST_REDIS_NODES.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
});
afterAll(async () => {
  await redis?.quit();
  await stack?.stop();
});

const status = (id: string) => orderStatus(stack, id);
const shard = (productId: number) => shardOf(stack, productId);
const sweep = (now: number) => stack.broker.call<{ expired: number; released: number; orphans: number }, object>("sweeper.sweep", { now });
const audit = (productId?: number) => auditOf(stack, productId);
const pendingOrder = (productId: number, user: string, qty = 1) => pendingOf(stack, productId, user, qty);
const drained = () => streamDrained(stack);

test("an unpaid order expires after its TTL: status expired, units back once", async () => {
  const p = await stack.createProduct({ stock: 5, per_user_limit: 2 });
  const o = await pendingOrder(p.id, "late", 2);
  const before = Date.parse(o.expires_at) - 1;
  expect((await sweep(before)).expired).toBe(0);
  expect(await status(o.order_id)).toBe("pending");
  await sweep(Date.parse(o.expires_at) + 1);
  expect(await status(o.order_id)).toBe("expired");
  expect(await shard(p.id)).toMatchObject({ available: 5, reserved: 0 });
  await sweep(Date.parse(o.expires_at) + 1);
  expect(await shard(p.id)).toMatchObject({ available: 5, reserved: 0 });
  // the user may buy again: expired units do not count against the limit
  expect((await stack.http("POST", "/api/orders", { product_id: p.id, qty: 2, user_id: "late" })).status).toBe(202);
  expect((await audit(p.id)).ok).toBe(true);
});

test("two sweepers at once expire each order once and release its units once", async () => {
  const p = await stack.createProduct({ stock: 50 });
  const orders = await Promise.all(Array.from({ length: 20 }, (_, i) => pendingOrder(p.id, `two-${i}`)));
  const later = Math.max(...orders.map((o) => Date.parse(o.expires_at))) + 1;
  // a second node's sweeper: its own broker on the same database, Redis and stream
  const other = await startStack({
    STREAM_PREFIX: stack.config.streamPrefix, DATABASE_URL: stack.config.databaseUrl, SERVICES: "inventory,sweeper", SWEEP_INTERVAL_MS: "3600000",
  });
  try {
    const { rows: [{ due }] } = await stack.db.query(
      "select count(*)::int as due from orders where status = 'pending' and expires_at <= $1", [new Date(later)]);
    expect(due).toBeGreaterThanOrEqual(20);
    const [a, b] = await Promise.all([sweep(later), other.broker.call<{ expired: number }, object>("sweeper.sweep", { now: later })]);
    expect(a.expired + b.expired).toBe(due);
    for (const o of orders) expect(await status(o.order_id)).toBe("expired");
  } finally {
    await other.stop();
  }
  expect(await shard(p.id)).toMatchObject({ available: 50, reserved: 0 });
  expect(await committed(stack, p.id)).toBe(0);
  expect((await audit(p.id)).ok).toBe(true);
});

/** What each way the race of a payment and the sweeper's expiry can go leaves, for the provider and the database. */
const PAYMENT_VS_EXPIRY: Record<string, object> = {
  "payment first": { webhook: { received: true, order_status: "paid" }, status: "paid" },
  "expiry first": { webhook: { received: true, order_status: "expired", refund_required: true }, status: "expired" },
};

test("expiry racing a payment: either one wins, exactly one, and the units follow the winner (looped)", async () => {
  const rounds = 20;
  const p = await stack.createProduct({ stock: rounds, price_cents: 100 });
  const seen = new Interleavings(Object.keys(PAYMENT_VS_EXPIRY));
  let paid = 0;
  for (let i = 0; i < rounds; i++) {
    const o = await pendingOrder(p.id, `racer-${i}`);
    const [w] = await staggered(i,
      () => sendWebhook(stack, { event_id: eventId(), order_id: o.order_id, status: "succeeded", amount_cents: 100 }),
      () => sweep(Date.parse(o.expires_at) + 1));
    const final = await status(o.order_id);
    const winner = final === "paid" ? "payment first" : "expiry first";
    seen.saw(winner);
    expect({ webhook: w.body, status: final }).toEqual(PAYMENT_VS_EXPIRY[winner]);
    if (winner === "payment first") paid++;
  }
  seen.expectEachSeen();
  expect(await shard(p.id)).toMatchObject({ sold: paid, reserved: 0, available: rounds - paid });
  expect((await audit(p.id)).ok).toBe(true);
});

test("a reservation whose message never reached the stream is released after its TTL, and a late message changes nothing", async () => {
  const p = await stack.createProduct({ stock: 10, price_cents: 100 });
  // the process died between the Lua step and the publish: only the shard knows
  const now = Date.now();
  const ttl = stack.config.reservationTtlSeconds * 1000;
  const orderId = await reservedWithoutMessage(stack, p.id, "ghost", 3, now);
  expect((await shard(p.id)).available).toBe(7);
  expect((await sweep(now + ttl + 1)).orphans).toBe(0); // within the grace period: the message may still come
  const report = await sweep(now + ttl + 31_000);
  expect(report.orphans).toBe(1);
  expect(await status(orderId)).toBe("expired");
  expect(await shard(p.id)).toMatchObject({ available: 10, reserved: 0 });

  const names = streamNames(stack.config.streamPrefix);
  await stack.nats.js.publish(names.ordersSubject(p.id), encodeOrderMessage({
    order_id: orderId, status: "reserved", product_id: p.id, qty: 3, user_id: "ghost", amount_cents: 300,
    created_at: new Date(now).toISOString(), expires_at: new Date(now + ttl).toISOString(),
  }, null), { msgID: `late-${orderId}` });
  await drained();
  expect(await status(orderId)).toBe("expired");
  expect(await committed(stack, p.id)).toBe(0);
});

test("the audit names the invariant a tampered shard breaks, and by how much", async () => {
  const p = await stack.createProduct({ stock: 20 });
  await pendingOrder(p.id, "t");
  await drained();
  expect((await audit(p.id)).ok).toBe(true);
  await redis.incrby(deploymentKeys(stack.config.streamPrefix).product(p.id).stock, 5);
  const a = await audit(p.id);
  expect(a.ok).toBe(false);
  expect(a.products[0].consistent).toBe(false);
  expect(a.products[0].failures).toContainEqual(expect.objectContaining({ invariant: "shard_conservation", by: 5 }));
  // over HTTP, for operators
  const r = await stack.http("GET", "/api/admin/audit", undefined, { authorization: "Bearer test-admin-token" });
  expect(r.status).toBe(200);
  expect(r.body.ok).toBe(false);
  // a rebuild from the database repairs it
  await stack.broker.call("inventory.rebuild", { product_id: p.id });
  expect((await audit(p.id)).ok).toBe(true);
});

test("the operator's REPL commands, with --json, show a shard, its holders and reservations, release an order and rebuild", async () => {
  const p = await stack.createProduct({ stock: 10, per_user_limit: 3 });
  const o = await pendingOrder(p.id, "repl-user", 2);
  const out: string[] = [];
  const commands = Object.fromEntries(replCommands((line) => out.push(String(line))).map((c) => [c.command.split(" ")[0], c]));
  const run = async (name: string, args: Record<string, string> = {}) => {
    out.length = 0;
    await commands[name].action(stack.broker, { ...args, options: { json: true } });
    return JSON.parse(out.join("\n"));
  };
  expect(await run("stock", { productId: String(p.id) })).toMatchObject({ shard: { available: 8, reserved: 2 }, product: { stock_available: 8 } });
  expect(await run("holders", { productId: String(p.id) })).toEqual({ "repl-user": 2 });
  expect((await run("reservations", { productId: String(p.id) })).map((r: { order_id: string }) => r.order_id)).toEqual([o.order_id]);
  expect(await run("audit", { productId: String(p.id) })).toMatchObject({ ok: true });
  expect(await run("release", { orderId: o.order_id })).toMatchObject({ released: true, status: "cancelled" });
  expect(await status(o.order_id)).toBe("cancelled");
  expect(await run("stock", { productId: String(p.id) })).toMatchObject({ shard: { available: 10, reserved: 0 } });
  expect(await run("rebuild", { productId: String(p.id) })).toMatchObject({ loaded: true, available: 10 });
  await expect(commands.stock.action(stack.broker, { productId: "x" })).rejects.toThrow(/positive integer/);
});

test("the operator's REPL commands print aligned tables: a header, a rule, one line per row, columns starting at the same place", async () => {
  const p = await stack.createProduct({ name: "Table lamp", stock: 10, per_user_limit: 5 });
  const first = await pendingOrder(p.id, "table-user-a", 3);
  await pendingOrder(p.id, "table-user-bb", 1);
  const out: string[] = [];
  const commands = Object.fromEntries(replCommands((line) => out.push(String(line))).map((c) => [c.command.split(" ")[0], c]));
  const run = async (name: string, args: Record<string, string> = {}) => {
    out.length = 0;
    await commands[name].action(stack.broker, { ...args, options: {} });
    return out.join("\n").split("\n");
  };
  /** the start of every column of a table, from its rule line ("----  ---") */
  const columnStarts = (rule: string) => [...rule.matchAll(/-+/g)].map((m) => m.index);
  const expectAligned = (lines: string[]) => {
    const starts = columnStarts(lines[1]);
    expect(lines[1]).toMatch(/^-+( +-+)*$/);
    for (const line of [lines[0], ...lines.slice(2)]) {
      // every cell begins or ends at its column's place: a space before each column start
      for (const s of starts.slice(1)) expect(line[s - 1]).toBe(" ");
    }
  };

  const holders = await run("holders", { productId: String(p.id) });
  expect(holders[0]).toMatch(/^user_id\s+units$/);
  expectAligned(holders);
  // most units first, numbers right-aligned under their header
  expect(holders.slice(2)).toEqual([
    expect.stringMatching(/^table-user-a\s+3$/),
    expect.stringMatching(/^table-user-bb\s+1$/),
  ]);
  expect(holders[2].length).toBe(holders[0].length);

  const stock = await run("stock", { productId: String(p.id) });
  expectAligned(stock);
  expect(stock).toHaveLength(3);
  // each cell read at its column's place, as marked by the rule line
  const cells = (line: string, rule: string) => [...rule.matchAll(/-+/g)].map((m) => line.slice(m.index, m.index + m[0].length).trim());
  const header = cells(stock[0], stock[1]);
  const values = cells(stock[2], stock[1]);
  expect(Object.fromEntries(header.map((h, i) => [h, values[i]]))).toEqual({
    product: String(p.id), name: "Table lamp", stock_total: "10", available: "6", reserved: "4", sold: "0",
    reservations: "2", per_user_limit: "5", buyers_see: "6", shard_loaded: "yes",
  });

  const reservations = await run("reservations", { productId: String(p.id) });
  expectAligned(reservations);
  expect(reservations).toHaveLength(4);
  expect(reservations.some((l) => l.startsWith(first.order_id))).toBe(true);

  const audit = await run("audit", { productId: String(p.id) });
  expect(audit[0]).toMatch(/^audit: OK · pipeline drained: (yes|no) · in flight: \d+ · dead letters: 0$/);
  expectAligned(audit.slice(2));
  expect(audit[4]).toMatch(new RegExp(`^\\s*${p.id}\\s+10\\s+6\\s+4\\s+4\\s+0\\s+0\\s+yes$`));

  const sweep = await run("sweep");
  expect(sweep.map((l) => l.split(/\s+/)[0])).toEqual(["expired", "released", "committed", "orphans"]);
  // an empty answer says so instead of printing a bare header
  const none = await stack.createProduct({ stock: 1 });
  expect(await run("holders", { productId: String(none.id) })).toEqual(["(none)"]);
});
