/**
 * Live updates over Server-Sent Events, on the real stack: an order's status from
 * `reserved` to its final one (then the stream ends), a product's stock coalesced
 * under a burst, heartbeats, 404/422 as GET, the per-gateway bound (503), streams
 * forgotten when their client leaves, and two gateways over NATS: a buyer connected
 * to gateway B follows what gateway A's node did.
 */
import { jest } from "@jest/globals";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { ServiceBroker } from "moleculer";
import { holdOrderWriter } from "../support/hold-writer.ts";
import { startStack, eventually, testConfig, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { placeOrder, rowsWritten } from "../support/orders.ts";
import { sendWebhook, eventId } from "../support/webhooks.ts";
import { openSse, type SseClient } from "../support/event-stream.ts";
import { createBroker } from "../../services/index.ts";
import { lifecycleOf } from "../../src/lib/lifecycle.ts";

jest.setTimeout(120_000);

const HEARTBEAT_MS = 300;
let stack: Stack;
let gatewayB: ServiceBroker;
let baseB: string;
const clients: SseClient[] = [];

beforeAll(async () => {
  stack = await startStack({ TRANSPORTER: "nats", NODE_ID: "gw-a", SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  await listenForEvents(stack.broker);
  gatewayB = createBroker(testConfig({
    TRANSPORTER: "nats", SERVICES: "gateway", NODE_ID: "gw-b", STREAM_PREFIX: stack.config.streamPrefix,
    DATABASE_URL: stack.config.databaseUrl, SSE_MAX_STREAMS: "3",
  }), { logger: false });
  await gatewayB.start();
  await gatewayB.waitForServices(["orders", "inventory"]);
  const server = (gatewayB.getLocalService("gateway") as unknown as { server: Server }).server;
  baseB = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await gatewayB?.stop();
  await stack?.stop();
});

async function follow(url: string): Promise<SseClient> {
  const c = await openSse(url);
  clients.push(c);
  return c;
}

const place = (productId: number, user: string, qty = 1) => placeOrder(stack, productId, user, qty);

/** The streams a gateway holds open, by its metric: polled where a test waits on it (no event says a stream closed). */
async function streams(base: string, kind: "order" | "product"): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("flash_live_streams{") && l.includes(`kind="${kind}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

test("an order's stream: its state as GET answers it at once, every status change, and the end after a final status", async () => {
  const p = await stack.createProduct({ stock: 5, price_cents: 120 });
  const release = await holdOrderWriter(stack, p.id);
  let sse: SseClient;
  let id: string;
  try {
    id = (await place(p.id, "live-1")).order_id;
    sse = await follow(`${stack.baseUrl}/api/orders/${id}/events`);
    expect(sse.status).toBe(200);
    expect(sse.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(sse.headers["cache-control"]).toMatch(/no-cache/);
    const first = await sse.next((e) => e.event === "order");
    expect(first.data).toEqual((await stack.http("GET", `/api/orders/${id}`)).body);
    expect(first.data.status).toBe("reserved");
  } finally {
    await release();
  }
  await sse!.next((e) => e.data.status === "pending");
  const paid = await sendWebhook(stack, { event_id: eventId(), order_id: id!, status: "succeeded", amount_cents: 120 });
  expect(paid.body.order_status).toBe("paid");
  const last = await sse!.next((e) => e.data.status === "paid");
  expect(last.data).toEqual((await stack.http("GET", `/api/orders/${id!}`)).body);
  await sse!.ended;
  expect(sse!.events.map((e) => e.data.status)).toEqual(["reserved", "pending", "paid"]);
  // a stream opened on a final order sends it once and ends
  const again = await follow(`${stack.baseUrl}/api/orders/${id!}/events`);
  await again.ended;
  expect(again.events.map((e) => e.data.status)).toEqual(["paid"]);
});

test("a product's stream: the product as GET answers it, coalesced under a burst with the last state always sent, and units coming back", async () => {
  const p = await stack.createProduct({ stock: 100, max_per_order: 1 });
  const sse = await follow(`${stack.baseUrl}/api/products/${p.id}/events`);
  const first = await sse.next((e) => e.event === "product");
  expect(first.data).toEqual((await stack.http("GET", `/api/products/${p.id}`)).body);
  expect(first.data.stock_available).toBe(100);

  const BURST = 60;
  const start = Date.now();
  const orders = await Promise.all(Array.from({ length: BURST }, (_, i) => place(p.id, `burst-${i}`)));
  const last = await sse.next((e) => e.data.stock_available === 100 - BURST);
  // coalesced: at most one event per PRODUCT_UPDATE_INTERVAL_MS (250) while the burst lasts,
  // plus the trailing one — however long the burst took on this machine
  const during = sse.events.slice(1);
  expect(during.length).toBeLessThanOrEqual(Math.ceil((last.at - start) / 250) + 2);
  expect(during.length).toBeLessThan(BURST);
  const seen = sse.events.map((e) => e.data.stock_available);
  expect([...seen].sort((a, b) => b - a)).toEqual(seen); // never an older state after a newer one

  const from = sse.events.length;
  expect((await stack.http("POST", `/api/orders/${orders[0].order_id}/cancel`)).status).toBe(200);
  const back = await sse.next((e) => e.data.stock_available === 100 - BURST + 1, from);
  expect(back.data).toEqual((await stack.http("GET", `/api/products/${p.id}`)).body);
});

test("a comment line keeps an idle stream open (at least every SSE_HEARTBEAT_MS)", async () => {
  const p = await stack.createProduct({ stock: 1 });
  const sse = await follow(`${stack.baseUrl}/api/products/${p.id}/events`);
  await eventually(async () => sse.comments >= 3, 10_000, "three heartbeats");
  expect(sse.events).toHaveLength(1); // nothing changed: no event
});

test("unknown and malformed ids are answered as GET answers them, with the envelope", async () => {
  const p = await stack.createProduct({ stock: 1 });
  const { newOrderId } = await import("../../src/domain/order-id.ts");
  for (const [path, status, code] of [
    [`/api/orders/${newOrderId(p.id)}/events`, 404, "ORDER_NOT_FOUND"],
    ["/api/orders/not-a-uuid/events", 422, "VALIDATION_ERROR"],
    ["/api/products/2000000000/events", 404, "PRODUCT_NOT_FOUND"],
    ["/api/products/abc/events", 422, "VALIDATION_ERROR"],
  ] as const) {
    const r = await follow(stack.baseUrl + path);
    await r.ended;
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  }
  await eventually(async () => (await streams(stack.baseUrl, "order")) + (await streams(stack.baseUrl, "product")) === 0, 5000, "no stream left open");
});

test("two gateways over NATS: a buyer on gateway B sees the reservation, the payment and the stock of gateway A's node", async () => {
  const p = await stack.createProduct({ stock: 10, price_cents: 90 });
  const product = await follow(`${baseB}/api/products/${p.id}/events`);
  await product.next((e) => e.data.stock_available === 10);
  const o = await place(p.id, "multi-1", 1); // through gateway A
  const order = await follow(`${baseB}/api/orders/${o.order_id}/events`);
  await order.next((e) => e.event === "order");
  await product.next((e) => e.data.stock_available === 9);
  await rowsWritten(stack, [o.order_id]);
  const w = await sendWebhook(stack, { event_id: eventId(), order_id: o.order_id, status: "succeeded", amount_cents: 90 });
  expect(w.body.order_status).toBe("paid");
  await order.next((e) => e.data.status === "paid");
  await order.ended;
});

test("a gateway holds at most SSE_MAX_STREAMS streams (then 503 UNAVAILABLE with Retry-After), and forgets a stream when its client goes away", async () => {
  const p = await stack.createProduct({ stock: 1 });
  const url = `${baseB}/api/products/${p.id}/events`;
  await eventually(async () => (await streams(baseB, "order")) + (await streams(baseB, "product")) === 0, 5000, "gateway B idle");
  const open = [await follow(url), await follow(url), await follow(url)];
  await Promise.all(open.map((c) => c.next((e) => e.event === "product")));
  expect(await streams(baseB, "product")).toBe(3);

  const refused = await follow(url);
  await refused.ended;
  expect(refused.status).toBe(503);
  expect(refused.headers["retry-after"]).toBeDefined();
  expect(refused.body.error.code).toBe("UNAVAILABLE");

  open[0].close();
  await eventually(async () => (await streams(baseB, "product")) === 2, 5000, "the closed stream to be forgotten");
  const admitted = await follow(url);
  expect(admitted.status).toBe(200);
  for (const c of [...open, admitted]) c.close();
  await eventually(async () => (await streams(baseB, "product")) === 0, 5000, "every stream forgotten");
});

test("a gateway that shuts down gracefully (SIGTERM's path) ends its streams, and its drain is not held by them", async () => {
  const p = await stack.createProduct({ stock: 1 });
  const extra = createBroker(testConfig({
    TRANSPORTER: "nats", SERVICES: "gateway", NODE_ID: "gw-c", STREAM_PREFIX: stack.config.streamPrefix,
    DATABASE_URL: stack.config.databaseUrl, SHUTDOWN_DRAIN_MS: "100",
  }), { logger: false });
  await extra.start();
  await extra.waitForServices(["inventory"]);
  const port = ((extra.getLocalService("gateway") as unknown as { server: Server }).server.address() as AddressInfo).port;
  const sse = await follow(`http://127.0.0.1:${port}/api/products/${p.id}/events`);
  await sse.next((e) => e.event === "product");
  let exitCode: number | undefined;
  await lifecycleOf(extra).shutdown("test", (code) => (exitCode = code));
  await sse.ended;
  expect(exitCode).toBe(0);
});
