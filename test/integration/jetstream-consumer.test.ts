/**
 * DurableConsumer against the machine's real NATS JetStream. Every test creates its
 * own work-queue stream (file storage, unique subjects) and dead-letter stream, and
 * deletes them afterwards; nothing else on the server is touched.
 */
import { jest } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { DurableConsumer, ensureDurableConsumer, type DurableConsumerOptions } from "../../src/lib/jetstream-consumer.ts";
import { NATS_URL } from "../support/env.ts";
import { eventually } from "../support/eventually.ts";

jest.setTimeout(20_000);

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const streamsToDelete: string[] = [];
const consumersToStop: DurableConsumer[] = [];

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL, name: "jetstream-consumer-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterEach(async () => {
  await Promise.all(consumersToStop.splice(0).map((c) => c.stop(2_000)));
  for (const name of streamsToDelete.splice(0)) await jsm.streams.delete(name).catch(() => undefined);
});

afterAll(async () => {
  await nc?.close();
});

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Polls `probe` until it returns a non-null value, failing after `timeoutMs`. */
/** Settles `p` within `ms`, or rejects naming what was awaited. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

interface Fixture {
  stream: string;
  durable: string;
  subject: string;
  deadLetterStream: string;
  deadLetterSubject: string;
  logs: string[];
  consumer(overrides: Partial<DurableConsumerOptions> & Pick<DurableConsumerOptions, "handler">): DurableConsumer;
  publish(payloads: string[]): Promise<number[]>;
  info(): ReturnType<JetStreamManager["consumers"]["info"]>;
  streamMessages(): Promise<number>;
}

async function fixture(opts: { ackWaitMs: number; bindDeadLetter?: boolean }): Promise<Fixture> {
  const id = randomBytes(5).toString("hex");
  const stream = `JSC_TEST_${id}`;
  const deadLetterStream = `JSC_TEST_${id}_DLQ`;
  const subject = `jsc-test.${id}.order`;
  const deadLetterSubject = `jsc-test.${id}.dlq`;
  const durable = "writer";
  streamsToDelete.push(stream, deadLetterStream);
  await jsm.streams.add({ name: stream, subjects: [`jsc-test.${id}.order`], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.streams.add({
    name: deadLetterStream,
    // when not bound, the dead-letter stream listens elsewhere: the subject has no stream
    subjects: [opts.bindDeadLetter === false ? `jsc-test.${id}.elsewhere` : deadLetterSubject],
    storage: StorageType.File,
  });
  await ensureDurableConsumer(jsm, { stream, durable, filterSubject: subject, ackWaitMs: opts.ackWaitMs });
  const logs: string[] = [];
  const logger = {
    info: (...a: unknown[]) => { logs.push(`info ${a.map(String).join(" ")}`); },
    warn: (...a: unknown[]) => { logs.push(`warn ${a.map(String).join(" ")}`); },
    error: (...a: unknown[]) => { logs.push(`error ${a.map(String).join(" ")}`); },
  };
  return {
    stream, durable, subject, deadLetterStream, deadLetterSubject, logs,
    consumer(overrides) {
      const c = new DurableConsumer({
        js, stream, durable, batchSize: 10, maxWaitMs: 20, maxDeliver: 5, backoffMs: [100],
        deadLetterSubject, ackWaitMs: opts.ackWaitMs, logger, ...overrides,
      });
      consumersToStop.push(c);
      return c;
    },
    async publish(payloads) {
      const acks = [];
      for (const p of payloads) acks.push(await js.publish(subject, enc(p)));
      return acks.map((a) => a.seq);
    },
    info: () => jsm.consumers.info(stream, durable),
    streamMessages: async () => (await jsm.streams.info(stream)).state.messages,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

async function settled(f: Fixture) {
  return eventually(async () => {
    const ci = await f.info();
    return ci.num_ack_pending === 0 && ci.num_pending === 0 ? ci : null;
  }, 10_000, "the consumer to have nothing pending or unacked");
}

test("start() refuses a durable the setup step has not created, naming the setup step", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  const c = new DurableConsumer({
    js, stream: f.stream, durable: "missing", batchSize: 10, maxWaitMs: 5, maxDeliver: 3, backoffMs: [100],
    deadLetterSubject: f.deadLetterSubject, ackWaitMs: 5_000, handler: async () => undefined,
  });
  await expect(c.start()).rejects.toThrow(/does not exist.*setup step/);
});

test("delivers published messages to the handler in batches and acks them only after the handler resolved", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  await f.publish(range(1, 200).map((i) => `m${i}`));
  const batches: number[][] = [];
  const unackedDuringHandler: boolean[] = [];
  const all = deferred();
  const c = f.consumer({
    batchSize: 50,
    handler: async (msgs) => {
      // none of this batch may be acked yet: the ack floor is below it and it is all pending acks
      const ci = await f.info();
      unackedDuringHandler.push(ci.ack_floor.stream_seq < msgs[0].seq && ci.num_ack_pending >= msgs.length);
      batches.push(msgs.map((m) => m.seq));
      if (batches.flat().length >= 200) all.resolve();
    },
  });
  await c.start();
  await within(all.promise, 10_000, "all 200 messages to be handled");
  const ci = await settled(f);

  expect(sorted(batches.flat())).toEqual(range(1, 200));
  expect(batches.flat()).toEqual(range(1, 200)); // one batch at a time, in order
  expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1);
  expect(batches.every((b) => b.length <= 50)).toBe(true);
  expect(unackedDuringHandler.every(Boolean)).toBe(true);
  expect(ci.ack_floor.stream_seq).toBe(200);
  expect(ci.num_redelivered).toBe(0);
  expect(await f.streamMessages()).toBe(0);
  expect(c.stats).toEqual({ batches: batches.length, acked: 200, naked: 0, deadLettered: 0, handlerErrors: 0 });
});

test("a message whose handler throws once is redelivered after its nak backoff and then acked; the good messages of its batch are acked on the first try", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  const payloads = range(1, 10).map((i) => (i === 5 ? "bad" : `good${i}`));
  await f.publish(payloads);
  const calls: { payloads: string[]; counts: number[]; ok: boolean; at: number }[] = [];
  const badDone = deferred();
  const c = f.consumer({
    batchSize: 20,
    backoffMs: [300, 1_000],
    handler: async (msgs) => {
      const call = { payloads: msgs.map((m) => dec(m.data)), counts: msgs.map((m) => m.info.deliveryCount), ok: false, at: Date.now() };
      calls.push(call);
      if (msgs.some((m) => dec(m.data) === "bad" && m.info.deliveryCount === 1)) throw new Error("transient failure");
      call.ok = true;
      if (call.payloads.includes("bad")) badDone.resolve();
    },
  });
  await c.start();
  await within(badDone.promise, 10_000, "the bad message to succeed");
  await settled(f);

  // the bad message first failed inside a batch with good ones
  const firstWithBad = calls.find((k) => k.payloads.includes("bad"))!;
  expect(firstWithBad.payloads.length).toBeGreaterThan(1);
  expect(firstWithBad.ok).toBe(false);
  // every good message succeeded on its first delivery, exactly once
  const goodOk = calls.filter((k) => k.ok).flatMap((k) => k.payloads.map((p, i) => ({ p, n: k.counts[i] }))).filter((x) => x.p !== "bad");
  expect(goodOk.map((x) => x.p).sort()).toEqual(payloads.filter((p) => p !== "bad").sort());
  expect(goodOk.every((x) => x.n === 1)).toBe(true);
  // the bad one: alone it failed on delivery 1, was nak'ed with 300 ms, succeeded on delivery 2
  const badAlone = calls.filter((k) => k.payloads.length === 1 && k.payloads[0] === "bad");
  expect(badAlone.map((k) => [k.counts[0], k.ok])).toEqual([[1, false], [2, true]]);
  expect(badAlone[1].at - badAlone[0].at).toBeGreaterThanOrEqual(250);
  expect(await f.streamMessages()).toBe(0);
  expect(c.stats).toMatchObject({ acked: 10, naked: 1, deadLettered: 0, handlerErrors: 2 });
});

test("a message that always fails goes to the dead-letter stream after maxDeliver attempts with the Flash headers, and is terminated", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  const [, poisonSeq] = await f.publish(["ok-1", "poison", "ok-2"]);
  const poisonCounts: number[] = [];
  const longError = `poisoned\r\npayload ${"x".repeat(1_000)}`;
  const c = f.consumer({
    maxDeliver: 3,
    backoffMs: [50, 100],
    handler: async (msgs) => {
      const poison = msgs.find((m) => dec(m.data) === "poison");
      if (poison) {
        poisonCounts.push(poison.info.deliveryCount);
        throw new Error(longError);
      }
    },
  });
  await c.start();
  const dead = await eventually(async () => {
    const s = await jsm.streams.info(f.deadLetterStream);
    return s.state.messages === 1 ? s : null;
  }, 10_000, "the dead-letter message");
  await settled(f); // terminated: nothing unacked or pending for the consumer
  expect(dead.state.messages).toBe(1);

  const sm = (await jsm.streams.getMessage(f.deadLetterStream, { seq: dead.state.first_seq }))!;
  expect(sm.subject).toBe(f.deadLetterSubject);
  expect(dec(sm.data)).toBe("poison");
  expect(sm.header.get("Flash-Original-Subject")).toBe(f.subject);
  expect(sm.header.get("Flash-Original-Stream")).toBe(f.stream);
  expect(sm.header.get("Flash-Original-Seq")).toBe(String(poisonSeq));
  expect(sm.header.get("Flash-Delivery-Count")).toBe("3");
  const reason = sm.header.get("Flash-Error");
  expect(reason).toHaveLength(512);
  expect(reason.startsWith("poisoned payload xxx")).toBe(true);
  expect(sm.header.get("Nats-Msg-Id")).toBe(`dlq-${f.stream}-${poisonSeq}`);

  // deliveries 1 (in the batch, then alone), 2, 3 — and no further one
  expect(Math.max(...poisonCounts)).toBe(3);
  expect([...new Set(poisonCounts)]).toEqual([1, 2, 3]);
  expect(await f.streamMessages()).toBe(0); // the work queue dropped the terminated message
  expect(c.stats).toMatchObject({ acked: 2, naked: 2, deadLettered: 1 });
});

test("if the dead-letter publish fails, the message is not terminated: it is nak'ed and stays in the stream", async () => {
  const f = await fixture({ ackWaitMs: 5_000, bindDeadLetter: false });
  const [seq] = await f.publish(["poison"]);
  const beyondLimit = deferred();
  const counts: number[] = [];
  const c = f.consumer({
    maxDeliver: 2,
    backoffMs: [50],
    handler: async (msgs) => {
      counts.push(msgs[0].info.deliveryCount);
      if (msgs[0].info.deliveryCount > 2) beyondLimit.resolve();
      throw new Error("always fails");
    },
  });
  await c.start();
  // a delivery beyond maxDeliver proves the message was nak'ed, not terminated, after the failed publish
  await within(beyondLimit.promise, 10_000, "a delivery beyond maxDeliver");
  await c.stop();

  expect(counts.slice(0, 3)).toEqual([1, 2, 3]);
  expect(c.stats.deadLettered).toBe(0);
  expect(c.stats.naked).toBeGreaterThanOrEqual(2);
  expect(await f.streamMessages()).toBe(1);
  expect(dec((await jsm.streams.getMessage(f.stream, { seq }))!.data)).toBe("poison");
  expect((await jsm.streams.info(f.deadLetterStream)).state.messages).toBe(0);
  expect(f.logs.some((l) => l.startsWith("error") && l.includes("dead-letter publish"))).toBe(true);
});

test("stop() waits for the running batch to finish and acks it; the messages it had not handled are redelivered to a new instance, none lost", async () => {
  const f = await fixture({ ackWaitMs: 1_000 });
  await f.publish(range(1, 30).map((i) => `m${i}`));
  const handledByA: number[] = [];
  const firstBatchRunning = deferred();
  const gate = deferred();
  const a = f.consumer({
    handler: async (msgs) => {
      firstBatchRunning.resolve();
      await gate.promise;
      handledByA.push(...msgs.map((m) => m.seq));
    },
  });
  await a.start();
  await within(firstBatchRunning.promise, 5_000, "the first batch to start");
  // A holds more than its running batch: the next batch is waiting in its buffer
  await eventually(async () => (await f.info()).num_ack_pending >= 20, 10_000, "A to hold 20 messages");

  let stopResolved = false;
  const stopping = a.stop().then(() => { stopResolved = true; });
  try {
    // The absence of an event cannot be awaited: give a stop() that did not wait time to resolve.
    await new Promise((r) => setTimeout(r, 200));
    expect(stopResolved).toBe(false);
  } finally {
    gate.resolve();
  }
  await within(stopping, 5_000, "stop() to resolve");

  expect(handledByA).toEqual(range(1, 10));
  expect(a.stats).toMatchObject({ batches: 1, acked: 10 });
  // the acks reached the server: the work queue dropped exactly the handled batch
  await eventually(async () => (await f.streamMessages()) === 20, 10_000, "the first batch to be acked");

  const handledByB = new Set<number>();
  const allBack = deferred();
  const b = f.consumer({
    handler: async (msgs) => {
      for (const m of msgs) handledByB.add(m.seq);
      if (handledByB.size >= 20) allBack.resolve();
    },
  });
  await b.start();
  await within(allBack.promise, 10_000, "the 20 unhandled messages to reach the new instance");
  await settled(f);
  expect(sorted(handledByB)).toEqual(range(11, 30));
  expect(await f.streamMessages()).toBe(0);
});

test("working() keeps a batch slower than ack_wait from being redelivered while it runs", async () => {
  const f = await fixture({ ackWaitMs: 1_000 });
  await f.publish(range(1, 5).map((i) => `m${i}`));
  const seen: number[] = [];
  const during: { deliveredSeq: number; redelivered: number }[] = [];
  const done = deferred();
  const c = f.consumer({
    handler: async (msgs) => {
      seen.push(...msgs.map((m) => m.seq));
      if (during.length === 0) {
        await new Promise((r) => setTimeout(r, 2_500)); // the slow work under test: 2.5 × ack_wait
        const ci = await f.info();
        during.push({ deliveredSeq: ci.delivered.consumer_seq, redelivered: ci.num_redelivered });
      }
      if (seen.length >= 5) done.resolve();
    },
  });
  await c.start();
  await within(done.promise, 10_000, "the 5 messages to be handled");
  await settled(f);

  expect(seen).toEqual(range(1, 5)); // each exactly once
  // the server delivered each message once (a redelivery would bump the consumer sequence)
  expect(during).toEqual([{ deliveredSeq: 5, redelivered: 0 }]);
  expect(c.stats).toMatchObject({ acked: 5, naked: 0 });
});

test("when the durable is deleted under it, the consume loop logs the error and resumes once the durable is back", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  const handled: string[] = [];
  let onHandled = deferred();
  const c = f.consumer({
    handler: async (msgs) => {
      handled.push(...msgs.map((m) => dec(m.data)));
      onHandled.resolve();
    },
  });
  await c.start();
  await f.publish(["before"]);
  await within(onHandled.promise, 5_000, "the first message");
  // its ack must have reached the server, or the new durable rightly delivers it again
  await eventually(async () => (await f.streamMessages()) === 0, 10_000, "the first message to be acked");

  await jsm.consumers.delete(f.stream, f.durable);
  await eventually(async () => f.logs.some((l) => l.startsWith("error") && l.includes("consume failed")), 10_000, "the consume failure to be logged");
  onHandled = deferred();
  await ensureDurableConsumer(jsm, { stream: f.stream, durable: f.durable, filterSubject: f.subject, ackWaitMs: 5_000 });
  await f.publish(["after"]);
  await within(onHandled.promise, 10_000, "a message after the durable came back");
  expect(handled).toEqual(["before", "after"]);
});

test("a dependency outage (isTransient) longer than maxDeliver attempts dead-letters nothing: the batch is nak'ed whole and lands once it is back", async () => {
  const f = await fixture({ ackWaitMs: 5_000 });
  let down = true;
  let calls = 0;
  const seen: number[] = [];
  const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const c = f.consumer({
    maxDeliver: 2,
    isTransient: (err) => err === outage,
    handler: async (msgs) => {
      calls++;
      if (down) throw outage;
      seen.push(...msgs.map((m) => m.seq));
    },
  });
  await c.start();
  const seqs = await f.publish(["a", "b", "c"]);
  // far more failed deliveries than maxDeliver allows
  await eventually(async () => calls >= 6, 15_000, "six failed deliveries");
  expect((await jsm.streams.info(f.deadLetterStream)).state.messages).toBe(0);
  down = false;
  await settled(f);
  expect(sorted(new Set(seen))).toEqual(seqs);
  expect((await jsm.streams.info(f.deadLetterStream)).state.messages).toBe(0);
  expect(f.logs.some((l) => l.includes("waits for a dependency"))).toBe(true);
});
