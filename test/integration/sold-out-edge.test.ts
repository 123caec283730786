/**
 * Sold-out traffic stays at the edge: three gateway nodes and one inventory node over
 * the NATS transporter. A gateway that knows a product is sold out answers 409 itself
 * (a middleware counts its remote calls), replays winning keys without a call, and puts
 * the product on sale again the moment any node gives units back; a gateway that lost
 * that event sells again once its flag lapsed. The contract's stampede, per-user and
 * idempotency rules hold across two gateways with the hint on.
 */
import { jest } from "@jest/globals";
import { randomUUID } from "node:crypto";
import type { Middleware } from "moleculer";
import { ADMIN_TOKEN, startStack, eventually, type HttpReply, type Stack } from "../support/stack.ts";
import { SOLD_OUT_EVENT, STOCK_RETURNED_EVENT, type ProductEvent } from "../../src/contracts/events.ts";
import { EventLog, listenForEvents, log } from "../support/events.ts";
import { committed, streamDrained, tally } from "../support/orders.ts";
import { eventId, sendWebhook } from "../support/webhooks.ts";

jest.setTimeout(120_000);

/** Lapse of gateways A and B: longer than any test, so only an event can lift their flags. */
const LONG_LAPSE_MS = 60_000;
/** Lapse of gateway C, the one that loses "units back" events. */
const SHORT_LAPSE_MS = 4_000;

interface Observed {
  remoteCalls: number;
  /** the sold-out and units-back events this gateway's handlers took, and the units-back events dropped */
  heard: EventLog;
  dropReturned: boolean;
}

/** What the log calls a units-back event the gateway dropped. */
const DROPPED = `${STOCK_RETURNED_EVENT} (dropped)`;

/**
 * Counts the calls this node sends to other nodes, records (or drops) "units back" events
 * and records "sold out" ones, once the gateway's own handler has taken them (its flag is
 * set or lifted by then). The gateway's readiness probe (a timer asking
 * inventory.health, not caused by any request) is not counted.
 */
function observer(o: Observed): Middleware {
  return {
    name: "ObserveEdge",
    remoteAction(next: (ctx: unknown) => Promise<unknown>, action: { name: string }) {
      if (action.name === "inventory.health") return next;
      return (ctx: unknown) => {
        o.remoteCalls++;
        return next(ctx);
      };
    },
    localEvent(next: (ctx: { params: ProductEvent }) => Promise<unknown>, event: { name: string }) {
      if (event.name !== STOCK_RETURNED_EVENT && event.name !== SOLD_OUT_EVENT) return next;
      return async (ctx: { params: ProductEvent }) => {
        if (o.dropReturned && event.name === STOCK_RETURNED_EVENT) {
          o.heard.record(DROPPED, ctx.params);
          return;
        }
        await next(ctx);
        o.heard.record(event.name, ctx.params);
      };
    },
  } as unknown as Middleware;
}

const observed = (): Observed => ({ remoteCalls: 0, heard: new EventLog(), dropReturned: false });

/** Resolves once gateway `g`'s handlers took `event` about product `productId`, after mark `since`. */
const told = (g: "a" | "b" | "c", event: string, productId: number, since: number) =>
  gw[g].seen.heard.heard<ProductEvent>(event, (e) => e.product_id === productId, { since, what: `gateway ${g} told ${event} of ${productId}` });

/** Marks of every gateway's log, to await what comes after them. */
const marks = () => ({ a: gw.a.seen.heard.mark(), b: gw.b.seen.heard.mark(), c: gw.c.seen.heard.mark() });

let backend: Stack;
const gw: Record<"a" | "b" | "c", { stack: Stack; seen: Observed }> = {} as never;

/**
 * The four nodes share this test's process: on a loaded machine (the fault suite runs beside
 * it) a 1,000-request stampede can keep their heartbeats unread past the production 4 s, and
 * each would take the others off (503s: seen in a full run). Node loss is the fault suite's
 * subject, with nodes of their own; here the timeout is Moleculer's default.
 */
const SLOW_MACHINE = { REQUEST_TIMEOUT_MS: "60000", HEARTBEAT_TIMEOUT_S: "30" };

beforeAll(async () => {
  backend = await startStack({
    TRANSPORTER: "nats", SERVICES: "inventory,orders,payments,sweeper", NODE_ID: "inv", SOLD_OUT_FLAG_MS: String(LONG_LAPSE_MS),
    ...SLOW_MACHINE,
  });
  const shared = { TRANSPORTER: "nats", SERVICES: "gateway", STREAM_PREFIX: backend.config.streamPrefix, DATABASE_URL: backend.config.databaseUrl, ...SLOW_MACHINE };
  for (const [name, lapse] of [["a", LONG_LAPSE_MS], ["b", LONG_LAPSE_MS], ["c", SHORT_LAPSE_MS]] as const) {
    const seen = observed();
    const stack = await startStack({ ...shared, NODE_ID: `gw-${name}`, SOLD_OUT_FLAG_MS: String(lapse) }, { middlewares: [observer(seen)] });
    gw[name] = { stack, seen };
  }
  for (const { stack } of Object.values(gw)) await stack.broker.waitForServices(["inventory", "orders"]);
  await listenForEvents(backend.broker);
  // every gateway must receive broadcasts before a test relies on them
  await eventually(async () => Object.values(gw).every(({ stack }) => stack.broker.registry.getNodeList({ onlyAvailable: true }).length === 4), 10_000, "all nodes known");
});

afterAll(async () => {
  for (const { stack } of Object.values(gw ?? {})) await stack?.stop();
  await backend?.stop();
});

const order = (g: "a" | "b" | "c", body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  gw[g].stack.http("POST", "/api/orders", body, headers);

/** The replies and the number of calls the gateway sent to other nodes while answering them. */
async function counted(g: "a" | "b" | "c", send: () => Promise<HttpReply[]>): Promise<{ replies: HttpReply[]; calls: number }> {
  const before = gw[g].seen.remoteCalls;
  const replies = await send();
  return { replies, calls: gw[g].seen.remoteCalls - before };
}

async function restock(id: number, add: number) {
  const r = await gw.a.stack.http("POST", `/api/admin/products/${id}/restock`, { add }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(r.status).toBe(200);
}

type Gateway = "a" | "b" | "c";
const probe = (g: Gateway, productId: number) => order(g, { product_id: productId, qty: 1, user_id: `probe-${randomUUID()}` });

/**
 * A product with no units left is sold out everywhere: a probe through gateway `via` is
 * refused SOLD_OUT by the inventory, whose announcement each of `gateways` then takes;
 * after that each answers the product from its flag, without a call.
 */
async function soldOutEverywhere(productId: number, via: Gateway = "a", gateways: Gateway[] = ["a", "b"]) {
  const since = marks();
  const refused = await counted(via, async () => [await probe(via, productId)]);
  expect([refused.replies[0].status, refused.replies[0].body.error.code, refused.calls]).toEqual([409, "SOLD_OUT", 1]);
  for (const g of gateways) {
    await told(g, SOLD_OUT_EVENT, productId, since[g]);
    const { replies, calls } = await counted(g, async () => [await probe(g, productId)]);
    expect([replies[0].status, replies[0].body.error.code, calls]).toEqual([409, "SOLD_OUT", 0]);
  }
}

test("a gateway that knows a product is sold out answers 409 SOLD_OUT itself, with or without a key, and still refuses bad input", async () => {
  const p = await gw.a.stack.createProduct({ stock: 2, max_per_order: 2, per_user_limit: 5 });
  // the counter sees calls: a product on sale costs one call per order
  const sale = await counted("a", async () => [await order("a", { product_id: p.id, qty: 2, user_id: "first" })]);
  expect(sale.replies[0].status).toBe(202);
  expect(sale.calls).toBe(1);
  // the first refusal, through gateway A, is the inventory's: it announces the sell-out to every gateway
  await soldOutEverywhere(p.id);

  for (const g of ["a", "b"] as const) {
    const { replies, calls } = await counted(g, () => Promise.all(Array.from({ length: 40 }, (_, i) =>
      order(g, { product_id: p.id, qty: 1, user_id: `u${i}` }, i % 2 ? { "idempotency-key": randomUUID() } : {}))));
    expect(calls).toBe(0);
    expect(replies.every((r) => r.status === 409 && r.body.error.code === "SOLD_OUT")).toBe(true);
    expect(replies[0].body).toEqual({ error: { code: "SOLD_OUT", message: "the product is sold out" } });
  }
  // what the reserve rule refuses first is still refused as such (by the inventory)
  for (const [body, code] of [
    [{ product_id: p.id, qty: 3, user_id: "x" }, "VALIDATION_ERROR"],
    [{ product_id: p.id, qty: 1 }, "VALIDATION_ERROR"],
    [{ product_id: p.id, qty: 0, user_id: "x" }, "VALIDATION_ERROR"],
    [{ product_id: p.id, qty: 1, user_id: "x", extra: true }, "VALIDATION_ERROR"],
  ] as const) {
    const r = await order("b", body);
    expect([r.status, r.body.error.code]).toEqual([422, code]);
  }
});

test("units returned anywhere are on sale again on every gateway at once", async () => {
  const p = await gw.a.stack.createProduct({ stock: 1, max_per_order: 1 });
  const won = await order("a", { product_id: p.id, qty: 1, user_id: "w" });
  expect(won.status).toBe(202);
  await soldOutEverywhere(p.id);

  // a restock through gateway A's admin route: units back on both gateways, whose flags would hold for a minute
  let since = marks();
  await restock(p.id, 2);
  await Promise.all([told("a", STOCK_RETURNED_EVENT, p.id, since.a), told("b", STOCK_RETURNED_EVENT, p.id, since.b)]);
  expect((await order("b", { product_id: p.id, qty: 1, user_id: "b1" })).status).toBe(202);
  expect((await order("a", { product_id: p.id, qty: 1, user_id: "a1" })).status).toBe(202);
  await soldOutEverywhere(p.id);

  // a failed payment, through gateway B to the payments node: the order is cancelled, its units released
  await log(backend.broker).persisted([won.body.order_id], 30_000);
  since = marks();
  const failed = await sendWebhook(gw.b.stack, { event_id: eventId(), order_id: won.body.order_id, status: "failed", amount_cents: won.body.amount_cents });
  expect(failed.body).toMatchObject({ order_status: "cancelled" });
  await Promise.all([told("a", STOCK_RETURNED_EVENT, p.id, since.a), told("b", STOCK_RETURNED_EVENT, p.id, since.b)]);
  const again = await Promise.all([order("a", { product_id: p.id, qty: 1, user_id: "a2" }), order("b", { product_id: p.id, qty: 1, user_id: "b2" })]);
  expect(again.map((r) => r.status).sort()).toEqual([202, 409]);
  expect(again.find((r) => r.status === 409)!.body.error.code).toBe("SOLD_OUT");
});

test("a gateway that lost the 'units back' event sells again once its flag lapsed", async () => {
  const p = await gw.a.stack.createProduct({ stock: 1, max_per_order: 1 });
  expect((await order("c", { product_id: p.id, qty: 1, user_id: "w" })).status).toBe(202);
  await soldOutEverywhere(p.id, "c", ["c"]);
  gw.c.seen.dropReturned = true;
  try {
    const since = marks();
    await restock(p.id, 1);
    // the event reached A and was lost on C
    await Promise.all([told("c", DROPPED, p.id, since.c), told("a", STOCK_RETURNED_EVENT, p.id, since.a)]);
    // gateway C still believes it sold out (the hint)
    const stale = await counted("c", async () => [await order("c", { product_id: p.id, qty: 1, user_id: "c1" })]);
    expect([stale.replies[0].status, stale.calls]).toEqual([409, 0]);
    // ... until its flag lapses: then its next request reaches the inventory and wins (polled:
    // nothing announces a lapse, which is the point of it)
    const sold = await eventually(async () => {
      const r = await order("c", { product_id: p.id, qty: 1, user_id: "c2" });
      return r.status === 202 ? r : null;
    }, SHORT_LAPSE_MS + 5_000, "gateway C sells again");
    expect(sold.body.product_id).toBe(p.id);
  } finally {
    gw.c.seen.dropReturned = false;
  }
});

test("a winning key is replayed after the sell-out without a call; another body is 422; a losing key is SOLD_OUT", async () => {
  const p = await gw.a.stack.createProduct({ stock: 2, max_per_order: 1 });
  const keys = [randomUUID(), randomUUID()];
  const wins = await Promise.all(keys.map((k, i) => order(i ? "b" : "a", { product_id: p.id, qty: 1, user_id: `k${i}` }, { "idempotency-key": k })));
  expect(wins.map((r) => r.status)).toEqual([202, 202]);
  await soldOutEverywhere(p.id);

  for (const g of ["a", "b"] as const) {
    for (const [i, k] of keys.entries()) {
      const { replies: [replay], calls } = await counted(g, async () => [await order(g, { product_id: p.id, qty: 1, user_id: `k${i}` }, { "idempotency-key": k })]);
      expect(calls).toBe(0);
      expect(replay.status).toBe(202);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.body).toEqual(wins[i].body);
    }
    const { replies, calls } = await counted(g, () => Promise.all([
      order(g, { product_id: p.id, qty: 1, user_id: "someone-else" }, { "idempotency-key": keys[0] }),
      order(g, { product_id: p.id, qty: 1, user_id: "k9" }, { "idempotency-key": randomUUID() }),
    ]));
    expect(calls).toBe(0);
    expect(replies.map((r) => [r.status, r.body.error.code])).toEqual([[422, "IDEMPOTENCY_KEY_REUSED"], [409, "SOLD_OUT"]]);
  }
  // the replays were handed to the stream again under their order ids: once the writer took
  // every message, still exactly the two orders
  await log(backend.broker).persisted(wins.map((w) => w.body.order_id), 30_000);
  await streamDrained(backend);
  const { rows } = await backend.db.query("select id from orders where product_id = $1 order by id", [p.id]);
  expect(rows.map((r) => r.id)).toEqual(wins.map((w) => w.body.order_id).sort());
});

describe("the contract across two gateways, the hint on", () => {
  const both = (i: number) => (i % 2 ? "b" : "a");

  test("1,000 buyers for 100 units through two gateways: exactly 100 win, the others SOLD_OUT, every retry answered as the first time", async () => {
    const p = await gw.a.stack.createProduct({ stock: 100, max_per_order: 1, per_user_limit: 1 });
    const key = (i: number) => `edge-stampede-${p.id}-${i}`;
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      order(both(i), { product_id: p.id, qty: 1, user_id: `buyer-${i}` }, { "idempotency-key": key(i) })));
    // as a tally, so a failure shows what the others got
    expect(tally(replies)).toEqual({ "202": 100, "409 SOLD_OUT": 900 });
    expect(new Set(replies.filter((r) => r.status === 409).map((r) => r.body.error.message))).toEqual(new Set(["the product is sold out"]));
    // retries through the other gateway
    const retries = await Promise.all(replies.map((_, i) =>
      order(both(i + 1), { product_id: p.id, qty: 1, user_id: `buyer-${i}` }, { "idempotency-key": key(i) })));
    // each retry answered as the first time: the same order, or the same refusal
    const answer = (r: HttpReply) => [r.status, r.body.order_id ?? r.body.error.code];
    expect(retries.map(answer)).toEqual(replies.map(answer));
    await log(backend.broker).persisted(replies.filter((r) => r.status === 202).map((r) => r.body.order_id), 30_000);
    await streamDrained(backend);
    const { rows: [{ n }] } = await backend.db.query("select count(*)::int as n from orders where product_id = $1", [p.id]);
    expect(n).toBe(100);
    expect(await committed(backend, p.id)).toBe(100);
  });

  test("the per-user limit holds under a burst from one user through two gateways", async () => {
    const p = await gw.a.stack.createProduct({ stock: 100, per_user_limit: 3, max_per_order: 3 });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => order(both(i), { product_id: p.id, qty: 1, user_id: "greedy" })));
    expect(tally(replies)).toEqual({ "202": 3, "409 LIMIT_EXCEEDED": 27 });
  });

  test("20 concurrent retries of one key through two gateways make one order", async () => {
    const p = await gw.a.stack.createProduct({ stock: 100 });
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => order(both(i), { product_id: p.id, qty: 1, user_id: "racer" }, { "idempotency-key": key })));
    expect(replies.every((r) => r.status === 202)).toBe(true);
    expect(new Set(replies.map((r) => r.body.order_id)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(19);
    await log(backend.broker).persisted([replies[0].body.order_id], 30_000);
    await streamDrained(backend);
    const { rows: [{ n }] } = await backend.db.query("select count(*)::int as n from orders where idempotency_key = $1", [key]);
    expect(n).toBe(1);
  });
});
