/**
 * A durable, batched, explicitly acknowledged JetStream pull consumer.
 *
 * - `ensureDurableConsumer` creates (or updates) the durable; the setup step calls it,
 *   never the consumer at run time.
 * - `DurableConsumer` reads the durable with `consume()`, groups the messages into
 *   batches, runs one batch at a time through the handler, and acks a message only
 *   after the handler resolved for it. A failing batch is re-run message by message,
 *   a message failing `maxDeliver` times is published to a dead-letter subject (and
 *   terminated only once that publish is acknowledged), any other failure is nak'ed
 *   with a backoff. The server's own `max_deliver` is off (-1): the limit is ours, so
 *   a message is never dropped by the server without being dead-lettered.
 *
 * The handler must be idempotent: a message is redelivered whenever its ack is lost
 * (acks are fire-and-forget), when `stop()` times out with a batch running, or when
 * a delivered message waited in the client longer than ack_wait (see `maxBuffered`).
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type Consumer,
  type ConsumerInfo,
  type ConsumerMessages,
  type ConsumerUpdateConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";

const NS_PER_MS = 1_000_000;
const MAX_ERROR_HEADER = 512;
/** a dependency outage: messages come back at least this often, so they land soon after it ends */
const TRANSIENT_BACKOFF_MAX_MS = 1000;

export interface DurableConsumerSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  ackWaitMs: number;
  /** Server-side bound on delivered-but-unacked messages (server default when omitted). */
  maxAckPending?: number;
}

function isApiError(err: unknown, ...codes: number[]): boolean {
  return err instanceof JetStreamApiError && codes.includes(err.code);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates the durable pull consumer, or updates the fields that may change
 * (ack_wait, max_ack_pending, filter subject) when it exists. A durable that exists
 * with another ack or deliver policy, or as a push consumer, is an error: those
 * cannot be changed in place and silently consuming with them would be wrong.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, opts: DurableConsumerSpec): Promise<ConsumerInfo> {
  const { stream, durable } = opts;
  const changeable: Partial<ConsumerUpdateConfig> = {
    ack_wait: Math.round(opts.ackWaitMs * NS_PER_MS),
    max_deliver: -1,
  };
  if (opts.filterSubject !== undefined) changeable.filter_subject = opts.filterSubject;
  if (opts.maxAckPending !== undefined) changeable.max_ack_pending = opts.maxAckPending;

  const update = async (existing: ConsumerInfo): Promise<ConsumerInfo> => {
    const c = existing.config;
    if (c.ack_policy !== AckPolicy.Explicit || c.deliver_policy !== DeliverPolicy.All || c.deliver_subject) {
      throw new Error(
        `JetStream consumer ${durable} on stream ${stream} exists with an incompatible configuration ` +
        `(ack_policy=${c.ack_policy}, deliver_policy=${c.deliver_policy}${c.deliver_subject ? ", push" : ""}): ` +
        `it must be an explicit-ack pull consumer delivering all; delete it and run the setup step again`,
      );
    }
    return jsm.consumers.update(stream, durable, changeable);
  };

  const existing = await jsm.consumers.info(stream, durable).catch((err: unknown) => {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return null;
    throw err;
  });
  if (existing) return update(existing);
  try {
    return await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...changeable,
    });
  } catch (err) {
    // another setup step may have created it in the meantime
    const now = await jsm.consumers.info(stream, durable).catch(() => null);
    if (now) return update(now);
    throw err;
  }
}

export interface ConsumerLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface DurableConsumerOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** Most messages handed to the handler at once. */
  batchSize: number;
  /** Longest a partial batch waits for more messages before it is handled (e.g. 5 ms). */
  maxWaitMs: number;
  /** Deliveries after which a failing message goes to the dead-letter subject. */
  maxDeliver: number;
  /** Nak delay by delivery attempt (index deliveryCount - 1); the last one repeats. */
  backoffMs: number[];
  deadLetterSubject: string;
  handler: (msgs: JsMsg[]) => Promise<void>;
  /**
   * True for a failure of a dependency rather than of the messages (the database is
   * down): the batch is nak'ed whole with a short backoff, not split up, and never
   * dead-lettered however often it was delivered. Default: no failure is transient.
   */
  isTransient?: (err: unknown) => boolean;
  logger?: ConsumerLogger;
  /** The consumer's ack_wait: messages held by us are marked in progress every third of it. */
  ackWaitMs: number;
  /** Default bound on how long `stop()` waits for the running batch (default 10 s). */
  stopTimeoutMs?: number;
  /**
   * Messages received and waiting for the next batch beyond which the reader stops
   * taking messages from the client library until a batch is taken (default
   * batchSize). Together with the client's own read-ahead (2 × batchSize) this bounds
   * memory; messages in the library's read-ahead are not kept alive with working(),
   * so a batch running longer than ack_wait can get some of them redelivered (the
   * handler is idempotent; duplicates held at the same time are collapsed).
   */
  maxBuffered?: number;
}

export interface DurableConsumerStats {
  /** Batches handed to the handler (the one-by-one re-runs of a failed batch excluded). */
  readonly batches: number;
  readonly acked: number;
  readonly naked: number;
  readonly deadLettered: number;
  /** Handler calls that threw (a failed batch and each failed re-run count once each). */
  readonly handlerErrors: number;
}

interface Buffered {
  msg: JsMsg;
  at: number;
  /** The server had nothing more for this consumer when this message was delivered. */
  drained: boolean;
}

export class DurableConsumer {
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #durable: string;
  readonly #batchSize: number;
  readonly #maxWaitMs: number;
  readonly #maxDeliver: number;
  readonly #backoffMs: number[];
  readonly #deadLetterSubject: string;
  readonly #handler: (msgs: JsMsg[]) => Promise<void>;
  readonly #isTransient: (err: unknown) => boolean;
  readonly #log: ConsumerLogger;
  readonly #ackWaitMs: number;
  readonly #stopTimeoutMs: number;
  readonly #maxBuffered: number;

  #counters = { batches: 0, acked: 0, naked: 0, deadLettered: 0, handlerErrors: 0 };
  #started = false;
  #stopping = false;
  #readLoop: Promise<void> | null = null;
  #stopped: Promise<void> | null = null;
  #messages: ConsumerMessages | null = null;

  /** Received, not yet in a batch, oldest first. */
  #buffer: Buffered[] = [];
  #drainedInBuffer = 0;
  /** Stream sequences of every message we hold (buffer or running batch). */
  #held = new Map<number, "buffer" | "batch">();
  /** Messages of the running batch not yet acked, nak'ed or terminated. */
  #inFlight = new Set<JsMsg>();
  #running: Promise<void> | null = null;
  #maxWaitTimer: NodeJS.Timeout | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeSleeper: (() => void) | null = null;

  constructor(opts: DurableConsumerOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error("batchSize must be a positive integer");
    if (!Number.isInteger(opts.maxDeliver) || opts.maxDeliver < 1) throw new Error("maxDeliver must be a positive integer");
    if (!(opts.ackWaitMs > 0)) throw new Error("ackWaitMs must be positive");
    if (!(opts.maxWaitMs >= 0)) throw new Error("maxWaitMs must be >= 0");
    this.#js = opts.js;
    this.#stream = opts.stream;
    this.#durable = opts.durable;
    this.#batchSize = opts.batchSize;
    this.#maxWaitMs = opts.maxWaitMs;
    this.#maxDeliver = opts.maxDeliver;
    this.#backoffMs = [...opts.backoffMs];
    this.#deadLetterSubject = opts.deadLetterSubject;
    this.#handler = opts.handler;
    this.#isTransient = opts.isTransient ?? (() => false);
    this.#log = opts.logger ?? console;
    this.#ackWaitMs = opts.ackWaitMs;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    this.#maxBuffered = Math.max(1, opts.maxBuffered ?? opts.batchSize);
  }

  get stats(): DurableConsumerStats {
    return { ...this.#counters };
  }

  /**
   * Looks the durable up (it must exist: the setup step creates it) and starts
   * consuming in the background. Resolves once consuming has begun.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error(`consumer ${this.#durable} already started`);
    let consumer: Consumer;
    try {
      consumer = await this.#js.consumers.get(this.#stream, this.#durable);
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound, JetStreamApiCodes.StreamNotFound)) {
        throw new Error(
          `JetStream consumer ${this.#durable} on stream ${this.#stream} does not exist ` +
          `(${errorMessage(err)}): run the setup step (npm run streams:setup) first`,
          { cause: err },
        );
      }
      throw err;
    }
    this.#started = true;
    this.#readLoop = this.#read(consumer);
  }

  /**
   * Stops taking messages, waits (at most `timeoutMs`) for the running batch to be
   * handled and acked, then closes the consume iterator. Messages received but not
   * handled are left unacked: the server redelivers them after ack_wait.
   */
  stop(timeoutMs = this.#stopTimeoutMs): Promise<void> {
    if (!this.#started) return Promise.resolve();
    this.#stopped ??= this.#stop(timeoutMs);
    return this.#stopped;
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#clearMaxWaitTimer();
    this.#wakeReader?.();
    this.#wakeSleeper?.();
    if (this.#running) {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        this.#running.then(() => true),
        new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (!finished) {
        this.#log.warn(`consumer ${this.#durable}: stop() timed out after ${timeoutMs} ms with a batch still running; its unacked messages will be redelivered`);
      }
    }
    await this.#messages?.close().catch(() => undefined);
    await this.#readLoop;
    const left = this.#buffer.length;
    this.#buffer = [];
    this.#drainedInBuffer = 0;
    if (left > 0) this.#log.info(`consumer ${this.#durable}: stopped with ${left} received message(s) unhandled (not acked, redelivered after ack_wait)`);
  }

  // ---- reading -------------------------------------------------------------------

  /**
   * `consume()` rather than repeated `fetch()`: it keeps a pull request open with
   * read-ahead (so the next batch is already arriving while one runs) and re-pulls
   * only as we read, which bounds memory. With fetch, a partial batch would either
   * wait for the request to expire (1 s at least) or abandon an open request.
   * `abort_on_missing_resource` makes a deleted consumer/stream end the iterator with
   * an error we log and retry, instead of the library retrying silently.
   */
  async #read(first: Consumer): Promise<void> {
    let consumer: Consumer | null = first;
    let failures = 0;
    while (!this.#stopping) {
      let messages: ConsumerMessages | null = null;
      try {
        consumer ??= await this.#js.consumers.get(this.#stream, this.#durable);
        messages = await consumer.consume({ max_messages: this.#batchSize * 2, abort_on_missing_resource: true });
        this.#messages = messages;
        void this.#watchStatus(messages);
        for await (const msg of messages) {
          failures = 0;
          this.#accept(msg);
          if (this.#buffer.length >= this.#maxBuffered && !this.#stopping) {
            await new Promise<void>((resolve) => { this.#wakeReader = resolve; });
            this.#wakeReader = null;
          }
          if (this.#stopping) break;
        }
        if (!this.#stopping) throw new Error("the consume iterator ended");
      } catch (err) {
        if (this.#stopping) break;
        failures++;
        consumer = null; // look it up again: it may have been deleted and recreated
        const wait = Math.min(5_000, 100 * 2 ** Math.min(failures - 1, 6));
        this.#log.error(`consumer ${this.#durable} on ${this.#stream}: consume failed (${errorMessage(err)}); retrying in ${wait} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.#wakeSleeper = () => { clearTimeout(t); resolve(); };
        });
        this.#wakeSleeper = null;
      } finally {
        if (messages) await messages.close().catch(() => undefined);
      }
    }
  }

  async #watchStatus(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const s of messages.status()) {
        switch (s.type) {
          case "consumer_deleted":
          case "consumer_not_found":
          case "stream_not_found":
          case "heartbeats_missed":
          case "no_responders":
          case "exceeded_limits":
            this.#log.warn(`consumer ${this.#durable} on ${this.#stream}: ${s.type}`, s);
            break;
          default:
        }
      }
    } catch {
      // the status iterator ends with the messages iterator
    }
  }

  #accept(msg: JsMsg): void {
    const seq = msg.seq;
    const where = this.#held.get(seq);
    if (where === "batch") {
      // A redelivery of a message the running batch holds (it waited in the client's
      // read-ahead past ack_wait). The server settles a message by stream sequence, so
      // the batch's ack/nak of the older delivery settles this one too.
      return;
    }
    if (where === "buffer") {
      const i = this.#buffer.findIndex((b) => b.msg.seq === seq);
      if (i >= 0) {
        this.#buffer[i].msg = msg; // keep the newest delivery (fresh ack timer, right count)
        return;
      }
    }
    const drained = msg.info.pending === 0;
    this.#buffer.push({ msg, at: Date.now(), drained });
    if (drained) this.#drainedInBuffer++;
    this.#held.set(seq, "buffer");
    this.#pump();
  }

  // ---- batching ------------------------------------------------------------------

  #clearMaxWaitTimer(): void {
    if (this.#maxWaitTimer) clearTimeout(this.#maxWaitTimer);
    this.#maxWaitTimer = null;
  }

  /** Starts the next batch if none runs and one is due; otherwise arms the max-wait timer. */
  #pump(): void {
    if (this.#running || this.#stopping || this.#buffer.length === 0) return;
    const waited = Date.now() - this.#buffer[0].at;
    const due = this.#buffer.length >= this.#batchSize || this.#drainedInBuffer > 0 || waited >= this.#maxWaitMs;
    if (!due) {
      if (!this.#maxWaitTimer) {
        this.#maxWaitTimer = setTimeout(() => {
          this.#maxWaitTimer = null;
          this.#pump();
        }, this.#maxWaitMs - waited);
      }
      return;
    }
    this.#clearMaxWaitTimer();
    const taken = this.#buffer.splice(0, this.#batchSize);
    for (const b of taken) {
      if (b.drained) this.#drainedInBuffer--;
      this.#held.set(b.msg.seq, "batch");
    }
    this.#wakeReader?.();
    const batch = taken.map((b) => b.msg);
    this.#running = this.#runBatch(batch).finally(() => {
      for (const m of batch) this.#held.delete(m.seq);
      this.#running = null;
      this.#pump();
    });
  }

  async #runBatch(batch: JsMsg[]): Promise<void> {
    this.#counters.batches++;
    for (const m of batch) this.#inFlight.add(m);
    // Keep the batch (and the messages waiting for the next one) from being
    // redelivered while it runs, however long the handler takes.
    const keepAlive = setInterval(() => {
      for (const m of this.#inFlight) m.working();
      for (const b of this.#buffer) b.msg.working();
    }, Math.max(100, Math.floor(this.#ackWaitMs / 3)));
    keepAlive.unref(); // a hung handler must not, by itself, keep the process alive
    try {
      try {
        await this.#handler(batch);
        // Plain ack, not ackAck: if an ack is lost the message is redelivered and
        // handled again, which is safe because the handler is idempotent.
        for (const m of batch) this.#ack(m);
        return;
      } catch (err) {
        this.#counters.handlerErrors++;
        if (this.#isTransient(err)) {
          this.#log.warn(`consumer ${this.#durable}: a batch of ${batch.length} waits for a dependency (${errorMessage(err)}); redelivered shortly`);
          for (const m of batch) this.#nak(m, TRANSIENT_BACKOFF_MAX_MS);
          return;
        }
        if (batch.length === 1) {
          await this.#fail(batch[0], err);
          return;
        }
        this.#log.warn(`consumer ${this.#durable}: a batch of ${batch.length} failed (${errorMessage(err)}); retrying its messages one by one`);
      }
      // Isolate a poisoned message from the good ones.
      for (const m of batch) {
        try {
          await this.#handler([m]);
          this.#ack(m);
        } catch (err) {
          this.#counters.handlerErrors++;
          if (this.#isTransient(err)) this.#nak(m, TRANSIENT_BACKOFF_MAX_MS);
          else await this.#fail(m, err);
        }
      }
    } catch (err) {
      // only a bug in this module gets here: leave the rest unacked for redelivery
      this.#log.error(`consumer ${this.#durable}: batch processing failed unexpectedly: ${errorMessage(err)}`);
    } finally {
      clearInterval(keepAlive);
      for (const m of batch) this.#inFlight.delete(m);
    }
  }

  #ack(m: JsMsg): void {
    m.ack();
    this.#inFlight.delete(m);
    this.#counters.acked++;
  }

  /** Naks with the backoff of this delivery attempt, at most `capMs`. */
  #nak(m: JsMsg, capMs = Infinity): void {
    const n = this.#backoffMs.length;
    const delay = n === 0 ? undefined : Math.min(capMs, this.#backoffMs[Math.min(Math.max(m.info.deliveryCount - 1, 0), n - 1)]);
    m.nak(delay);
    this.#inFlight.delete(m);
    this.#counters.naked++;
  }

  /**
   * Sets aside what the handler took from a message but could not keep (the message itself
   * is fine and is acknowledged): `data` goes to the dead-letter subject with `reason`, once
   * per `id` (the stream's duplicate window), where the audit and the operator see it.
   * Throws if the publish fails, so that the handler fails and the message comes again.
   */
  async deadLetter(data: Uint8Array, reason: string, id: string, from: JsMsg): Promise<void> {
    await this.#publishDeadLetter(data, reason, `dlq-${id}`, {
      "Flash-Original-Subject": from.subject,
      "Flash-Original-Stream": from.info.stream,
      "Flash-Original-Seq": String(from.seq),
    });
    this.#counters.deadLettered++;
    this.#log.error(`consumer ${this.#durable}: set aside to ${this.#deadLetterSubject} from ${from.info.stream}#${from.seq}: ${reason}`);
  }

  async #publishDeadLetter(data: Uint8Array, reason: string, msgID: string, fields: Record<string, string>): Promise<void> {
    const h = headers();
    for (const [name, value] of Object.entries(fields)) h.set(name, value);
    h.set("Flash-Error", reason.replace(/[\r\n]+/g, " ").trim().slice(0, MAX_ERROR_HEADER) || "unknown error");
    await this.#js.publish(this.#deadLetterSubject, data, { headers: h, msgID });
  }

  /** A single message failed: nak it with backoff, or dead-letter it after maxDeliver deliveries. */
  async #fail(m: JsMsg, err: unknown): Promise<void> {
    const count = m.info.deliveryCount;
    if (count < this.#maxDeliver) {
      this.#nak(m);
      return;
    }
    const reason = errorMessage(err);
    try {
      await this.#publishDeadLetter(m.data, reason, `dlq-${m.info.stream}-${m.seq}`, {
        "Flash-Original-Subject": m.subject,
        "Flash-Original-Stream": m.info.stream,
        "Flash-Original-Seq": String(m.seq),
        "Flash-Delivery-Count": String(count),
      });
    } catch (pubErr) {
      // never drop it: keep it in the stream and try again on the next delivery
      this.#log.error(`consumer ${this.#durable}: dead-letter publish of ${m.info.stream}#${m.seq} failed (${errorMessage(pubErr)}); nak'ing it instead`);
      this.#nak(m);
      return;
    }
    m.term();
    this.#inFlight.delete(m);
    this.#counters.deadLettered++;
    this.#log.warn(`consumer ${this.#durable}: ${m.info.stream}#${m.seq} dead-lettered to ${this.#deadLetterSubject} after ${count} deliveries: ${reason}`);
  }
}
