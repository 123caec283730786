/**
 * The NATS transporter that writes the packets of one event-loop turn together
 * (src/lib/nats-transporter.ts), between two brokers on the machine's NATS: what one
 * turn sends leaves in one socket write and arrives in order; a packet sent just before
 * the broker stops still leaves; a packet NATS refuses fails its call at once.
 */
import { randomBytes } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { BatchingNatsTransporter } from "../../src/lib/nats-transporter.ts";
import { NATS_URL } from "../support/env.ts";

const namespace = `nats-transporter-${randomBytes(4).toString("hex")}`;
const seen: number[] = [];
const events: string[] = [];
let onEvent: (word: string) => void = () => undefined;
let caller: ServiceBroker;
let callee: ServiceBroker;

const broker = (nodeID: string) =>
  new ServiceBroker({ namespace, nodeID, logger: false, transporter: new BatchingNatsTransporter({ url: NATS_URL }) as never, requestTimeout: 10_000 });

/** Counts the writes of `b`'s NATS connection to its socket while `fn` runs. */
async function socketWrites(b: ServiceBroker, fn: () => Promise<unknown>): Promise<number> {
  const transport = (b.transit!.tx as unknown as { client: { protocol: { transport: { send(d: Uint8Array): void } } } }).client.protocol.transport;
  const send = transport.send;
  let writes = 0;
  transport.send = function (this: unknown, d: Uint8Array) {
    writes++;
    return send.call(this, d);
  };
  try {
    await fn();
  } finally {
    transport.send = send;
  }
  return writes;
}

beforeAll(async () => {
  callee = broker("callee");
  callee.createService({
    name: "echo",
    actions: { take: (ctx: Context<{ i: number }>) => (seen.push(ctx.params.i), ctx.params.i) },
    events: { "caller.said": (ctx: Context<{ word: string }>) => (events.push(ctx.params.word), onEvent(ctx.params.word)) },
  });
  caller = broker("caller");
  await Promise.all([callee.start(), caller.start()]);
  await caller.waitForServices("echo", 10_000);
});
afterAll(() => Promise.all([caller?.stop(), callee?.stop()]));

test("requests sent from 50 separate callbacks of one loop turn leave in one write and are served in the order sent", async () => {
  seen.length = 0;
  const calls: Array<Promise<unknown>> = [];
  const writes = await socketWrites(caller, async () => {
    await new Promise<void>((resolve) => {
      // like requests arriving on 50 connections: each in a callback of its own
      for (let i = 0; i < 50; i++) setImmediate(() => void calls.push(caller.call("echo.take", { i })));
      setImmediate(resolve);
    });
    expect(await Promise.all(calls)).toEqual([...Array(50).keys()]);
  });
  expect(seen).toEqual([...Array(50).keys()]);
  // the 50 requests in one write (the stock transporter: 50); the rest is NATS's own
  expect(writes).toBeLessThanOrEqual(2);
});

test("an event sent just before the broker stops still reaches the other node", async () => {
  const last = broker("last-words");
  await last.start();
  await last.waitForServices("echo", 10_000);
  const arrived = new Promise<void>((resolve) => (onEvent = (word) => word === "bye" && resolve()));
  last.emit("caller.said", { word: "bye" });
  await last.stop();
  await arrived;
  expect(events).toContain("bye");
});

test("a packet over NATS's max_payload fails its call at once, and the node goes on", async () => {
  const t0 = Date.now();
  await expect(caller.call("echo.take", { i: 1, pad: "x".repeat(2 * 1024 * 1024) })).rejects.toThrow(/MAX_PAYLOAD/i);
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(await caller.call("echo.take", { i: 7 })).toBe(7);
});
