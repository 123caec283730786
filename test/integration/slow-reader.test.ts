/**
 * What a live stream may owe a client that stopped reading, kernel buffers included
 * (SSE_MAX_BUFFERED_BYTES, services/gateway/sse-stream.ts): a raw socket that sends its
 * request and then reads nothing is sent at most that, and the server closes its
 * stream; a reader of the same stream keeps getting events (it reconnects when its
 * stream hands over, as EventSource does).
 */
import { jest } from "@jest/globals";
import { startStack, ADMIN_TOKEN, type Stack } from "../support/stack.ts";
import { followSse, stalledReader, type SseFollower, type StalledReader } from "../support/event-stream.ts";

jest.setTimeout(90_000);

const MAX_BYTES = 8 * 1024;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
let stack: Stack;
let reader: SseFollower | undefined;
let stalled: StalledReader | undefined;

beforeAll(async () => {
  stack = await startStack({ SSE_MAX_BUFFERED_BYTES: String(MAX_BYTES), PRODUCT_UPDATE_INTERVAL_MS: "10" });
});
afterEach(() => {
  reader?.close();
  stalled?.close();
});
afterAll(async () => {
  await stack?.stop();
});

/** The stalled client was sent at most MAX_BYTES, its `event`s and the hand-over, and its stream was ended. */
async function expectHandedOver(client: StalledReader, event: string) {
  const { head, body, bytes, ended } = await client.read(MAX_BYTES);
  expect(head).toMatch(/^HTTP\/1\.1 200 /);
  expect({ bytes, ended }).toEqual({ bytes: expect.any(Number), ended: true });
  expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
  expect(body).toMatch(new RegExp(`^retry: 2000\n\n(event: ${event}\n[^]*)event: handover\ndata: \{\}\nretry: 100\n\n$`));
}

/** The bytes of the events a follower was sent, about (their JSON, without the framing). */
const received = (f: SseFollower) => f.connections.flatMap((c) => c.events).reduce((n, e) => n + JSON.stringify(e.data).length, 0);

test("a product stream whose client stopped reading is closed once it was sent SSE_MAX_BUFFERED_BYTES, while a reader keeps getting every state", async () => {
  const p = await stack.createProduct({ stock: 100 });
  const path = `/api/products/${p.id}/events`;
  stalled = await stalledReader(stack.baseUrl, path);
  reader = followSse(stack.baseUrl + path);
  const stock = (total: number) => reader!.until((e) => e.event === "product" && e.data.stock_total === total);
  await stock(100);
  // each state goes to both streams: three times what one may owe
  for (let total = 101; received(reader) < 3 * MAX_BYTES; total++) {
    expect((await stack.http("POST", `/api/admin/products/${p.id}/restock`, { add: 1 }, admin)).status).toBe(200);
    await stock(total);
  }
  await expectHandedOver(stalled, "product");
  // the reader's stream handed over too, and it still follows the product
  expect(reader.connections.length).toBeGreaterThan(1);
  const last = (await stack.http("POST", `/api/admin/products/${p.id}/restock`, { add: 1 }, admin)).body.stock_total;
  await stock(last);
});

test("the dashboard's stream is held to the same bound, and a reader of it keeps getting snapshots", async () => {
  const session = await stack.http("POST", "/api/admin/dashboard/session", undefined, admin);
  const cookie = { cookie: session.headers.get("set-cookie")!.split(";")[0] };
  const path = "/api/admin/dashboard/events";
  stalled = await stalledReader(stack.baseUrl, path, cookie);
  reader = followSse(stack.baseUrl + path, cookie);
  // both streams are sent each snapshot (the reader's new connections one more each)
  await reader.until(() => received(reader!) > 1.5 * MAX_BYTES, 60_000);
  await expectHandedOver(stalled, "snapshot");
  expect(reader.connections.length).toBeGreaterThan(1);
  const after = Date.now();
  await reader.until((e) => e.event === "snapshot" && e.at > after);
});
