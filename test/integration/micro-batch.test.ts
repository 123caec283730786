/**
 * Micro-batched winners: reservations of one product that reach a gateway in the same
 * turn go to the inventory as one reserveMany call and on to Redis as one reserveBatch
 * call, each keeping its own answer, and every accepted one is published and lands in
 * PostgreSQL.
 */
import { connect } from "node:net";
import { jest } from "@jest/globals";
import { startStack, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten, streamDrained } from "../support/orders.ts";
import { METRIC } from "../../src/lib/metrics.ts";
import type { ReserveOutcome } from "../../src/contracts/reservation.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { ensureDurableConsumer } from "../../src/lib/jetstream-consumer.ts";
import { reserveMany } from "../support/reserve.ts";

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ RESERVE_BATCH_MAX: "64" });
  await listenForEvents(stack.broker);
});
afterAll(async () => {
  await stack?.stop();
});

/** The order ids of the reservations made (not replayed) among `outcomes`. */
const madeIds = (outcomes: ReserveOutcome[]) => outcomes.flatMap((o) => (o.ok && !o.replayed ? [o.order.order_id] : []));
/** Resolves once `ids` were written and every message taken; then the product's orders are counted. */
async function landed(ids: string[]) {
  await rowsWritten(stack, ids, 30_000);
  await streamDrained(stack);
}
const ordersOf = async (productId: number) =>
  (await stack.db.query("select count(*)::int as n from orders where product_id = $1", [productId])).rows[0].n as number;

const counter = (name: string) => Number(stack.broker.metrics.getMetric(name)?.get()?.value ?? 0);
/** Messages ever stored on the order stream (a work queue: they leave it once written). */
const streamSeq = async () => (await stack.nats.jsm.streams.info(streamNames(stack.config.streamPrefix).orders)).state.last_seq;

test("50 reservations of one product sent together are one script call, each with its own answer, and all winners land", async () => {
  const p = await stack.createProduct({ stock: 30, per_user_limit: 2, max_per_order: 2 });
  const batches0 = counter(METRIC.reserveBatches);
  const requests0 = counter(METRIC.reserveBatched);
  const seq0 = await streamSeq();
  const outcomes = await reserveMany(stack.broker, p.id, Array.from({ length: 50 }, (_, i) =>
    ({ qty: 1, user_id: `u${i % 20}`, idempotency_key: i === 7 || i === 27 ? "same-key" : null }))) as ReserveOutcome[];
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
  await landed(madeIds(outcomes));
  expect(await ordersOf(p.id)).toBe(30);
});

/** Calls of `action` this node made, by Moleculer's moleculer_request_total. */
function calls(action: string): number {
  const metric = stack.broker.metrics.getMetric("moleculer.request.total");
  const values = (metric?.snapshot() ?? []) as Array<{ value: number; labels: Record<string, unknown> }>;
  return values.filter((v) => v.labels.action === action).reduce((n, v) => n + Number(v.value), 0);
}

interface Pipelined {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * Sends every request on one connection in one write (HTTP/1.1 pipelining): the gateway
 * parses them in one read, so they reach it in the same turn of its event loop.
 */
function pipelined(requests: Array<{ body: unknown; headers?: Record<string, string> }>): Promise<Pipelined[]> {
  const { hostname, port } = new URL(stack.baseUrl);
  const wire = requests.map(({ body, headers = {} }) => {
    const payload = JSON.stringify(body);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    return `POST /api/orders HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
  }).join("");
  return new Promise((resolve, reject) => {
    const answers: Pipelined[] = [];
    let buffered = Buffer.alloc(0);
    const socket = connect(Number(port), hostname, () => socket.write(wire));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const [statusLine, ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        const length = Number(headers["content-length"]);
        if (buffered.length < end + 4 + length) return;
        answers.push({ status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(buffered.subarray(end + 4, end + 4 + length).toString("utf8")) });
        buffered = buffered.subarray(end + 4 + length);
        if (answers.length === requests.length) {
          socket.end();
          resolve(answers);
          return;
        }
      }
    });
  });
}

test("orders that reach the gateway together are one inventory.reserveMany call per product, each answered by its own rules", async () => {
  const p = await stack.createProduct({ stock: 10, per_user_limit: 2, max_per_order: 2 });
  const q = await stack.createProduct({ stock: 5, max_per_order: 1 });
  const owner = await stack.createProduct({ stock: 5 });
  // a key that won on another product: reusing it for p is refused, alone
  const taken = `taken-${p.id}`;
  expect((await stack.http("POST", "/api/orders", { product_id: owner.id, qty: 1, user_id: "owner" }, { "Idempotency-Key": taken })).status).toBe(202);
  const same = `same-${p.id}`;
  const many0 = calls("inventory.reserveMany");
  const batches0 = counter(METRIC.reserveBatches);
  const requests0 = counter(METRIC.reserveBatched);
  const order = (product: number, qty: number, user: string, key?: string) =>
    ({ body: { product_id: product, qty, user_id: user }, ...(key ? { headers: { "Idempotency-Key": key } } : {}) });

  const answers = await pipelined([
    order(p.id, 3, "over"),                        // over max_per_order: the script's 422
    order(p.id, 0, "zero"),                        // invalid: the gateway's 422, never sent
    order(p.id, 2, "twice"),                       // 2 units
    order(q.id, 1, "q1"),                          // another product: its own call
    order(p.id, 1, "twice"),                       // with the one before, over the per-user limit
    order(p.id, 1, "reuser", taken),               // reserved by the script, then refused: the key is another product's
    order(p.id, 1, "keyed", same),                 // 1 unit
    order(p.id, 1, "keyed", same),                 // the same request again: its replay
    ...Array.from({ length: 6 }, (_, i) => order(p.id, 1, `b${i}`)), // 6 units: 10 held now (with the reuser's)
    order(q.id, 1, "q2"),
    order(p.id, 1, "late1"),                       // nothing left
    order(p.id, 1, "late2"),
  ]);
  const got = answers.map((a) => (a.status === 202 ? (a.headers["idempotent-replayed"] ? "replay" : 202) : a.body.error.code));
  expect(got).toEqual([
    "VALIDATION_ERROR", "VALIDATION_ERROR", 202, 202, "LIMIT_EXCEEDED", "IDEMPOTENCY_KEY_REUSED", 202, "replay",
    202, 202, 202, 202, 202, 202, 202, "SOLD_OUT", "SOLD_OUT",
  ]);
  expect(answers[1].body.error.details.fields).toHaveProperty("qty");
  expect(answers[7].body.order_id).toBe(answers[6].body.order_id);
  // one call per product, and p's 14 valid requests in one script call
  expect(calls("inventory.reserveMany") - many0).toBe(2);
  expect(counter(METRIC.reserveBatches) - batches0).toBe(2);
  expect(counter(METRIC.reserveBatched) - requests0).toBe(16);
  // the reuser's unit went back: 8 orders of p land, and 1 unit is on sale again
  await landed(answers.flatMap((a) => (a.status === 202 && !a.headers["idempotent-replayed"] ? [a.body.order_id as string] : [])));
  expect([await ordersOf(p.id), await ordersOf(q.id)]).toEqual([8, 2]);
  expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(1);
});

test("more reservations than RESERVE_BATCH_MAX in one call make script calls of full batches and a rest", async () => {
  const p = await stack.createProduct({ stock: 1000, max_per_order: 1 });
  const batches0 = counter(METRIC.reserveBatches);
  const seq0 = await streamSeq();
  const outcomes = await reserveMany(stack.broker, p.id, Array.from({ length: 150 }, (_, i) => ({ qty: 1, user_id: `b${i}` }))) as ReserveOutcome[];
  expect(outcomes.every((o) => o.ok && !o.replayed)).toBe(true);
  expect(counter(METRIC.reserveBatches) - batches0).toBe(3);
  expect((await streamSeq()) - seq0).toBe(3);
  await landed(madeIds(outcomes));
  expect(await ordersOf(p.id)).toBe(150);
});

test("when the order stream refuses a batch's message, every reservation of the batch is 503 and its units are back", async () => {
  const p = await stack.createProduct({ stock: 100, per_user_limit: 1, max_per_order: 1 });
  const buyers = () => Array.from({ length: 20 }, (_, i) => ({ qty: 1, user_id: `r${i}`, idempotency_key: i % 2 === 0 ? `refused-${p.id}-${i}` : null }));
  const names = streamNames(stack.config.streamPrefix);
  const config = await stack.nats.jsm.streams.info(names.orders);
  await stack.nats.jsm.streams.delete(names.orders);
  try {
    const attempts = await reserveMany(stack.broker, p.id, buyers());
    expect(attempts.map((a) => "error" in a && a.error.type)).toEqual(Array(20).fill("UNAVAILABLE"));
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
  const retried = await reserveMany(stack.broker, p.id, buyers());
  expect(retried.every((o) => "ok" in o && o.ok && !o.replayed)).toBe(true);
  await landed(madeIds(retried as ReserveOutcome[]));
  expect(await ordersOf(p.id)).toBe(20);
});
