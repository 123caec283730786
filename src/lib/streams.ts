/**
 * NATS JetStream: the durable hand-over of reserved orders from the inventory to the
 * orders service. Stream and consumer names derive from STREAM_PREFIX so tests and
 * several deployments can share one NATS server. Streams and the consumer are created
 * by the setup step (`npm run streams:setup`, also run by `npm start`), never lazily.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Config } from "./config.ts";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { ensureDurableConsumer } from "./jetstream-consumer.ts";
import { decodeOrderMessages } from "../domain/order-message.ts";
import type { ReservationRecord } from "../contracts/reservation.ts";

const NS_PER_MS = 1_000_000;

export interface StreamNames {
  orders: string;
  ordersSubject: (productId: number) => string;
  ordersSubjects: string;
  deadLetter: string;
  deadLetterSubject: string;
  ordersConsumer: string;
}

export function streamNames(prefix: string): StreamNames {
  const p = prefix.toLowerCase();
  return {
    orders: `${prefix}_ORDERS`,
    ordersSubject: (productId) => `${p}.order.reserved.${productId}`,
    ordersSubjects: `${p}.order.reserved.>`,
    deadLetter: `${prefix}_DLQ`,
    deadLetterSubject: `${p}.dlq.order.reserved`,
    ordersConsumer: `${prefix}_orders_writer`,
  };
}

export interface JetStreamHandle {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** false from a disconnect until the reconnect: what is published meanwhile waits in a buffer */
  connected(): boolean;
}

export async function connectJetStream(natsUrl: string, name: string): Promise<JetStreamHandle> {
  // noAsyncTraces: nats.js otherwise builds two Error objects (stack captures) per
  // request up front, one for each publish ack awaited: a tenth of a hot node's CPU.
  const nc = await connect({ servers: natsUrl.split(","), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnecting") connected = false;
      else if (s.type === "reconnect") connected = true;
    }
  })().catch(() => undefined);
  return { nc, js: jetstream(nc), jsm, connected: () => connected && !nc.isClosed() };
}

export interface StreamSetupOptions {
  /** How long a message id is remembered for deduplication; longer than any publish retry. */
  duplicateWindowMs: number;
  consumerAckWaitMs: number;
  replicas?: number;
}

/** The set-up a node (scripts/run.ts) or `npm run streams:setup` applies, from the configuration. */
export function streamSetupOptions(config: Pick<Config, "reservationTtlSeconds" | "consumerAckWaitMs" | "streamReplicas">): StreamSetupOptions {
  return {
    duplicateWindowMs: Math.max(2 * config.reservationTtlSeconds * 1000, 20 * 60 * 1000),
    consumerAckWaitMs: config.consumerAckWaitMs,
    replicas: config.streamReplicas,
  };
}

async function upsertStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (err) {
    if ((err as Error).message?.includes("stream not found") || (err as { code?: string }).code === "404") {
      await jsm.streams.add(config);
    } else throw err;
  }
}

/**
 * The orders stream is a work queue (a message is removed once the writer acked it),
 * so its content is exactly the reservations still in flight to PostgreSQL. File
 * storage; deduplication on the order id.
 */
export async function ensureStreams(jsm: JetStreamManager, names: StreamNames, opts: StreamSetupOptions): Promise<void> {
  await upsertStream(jsm, {
    name: names.orders,
    subjects: [names.ordersSubjects],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    allow_direct: true,
    duplicate_window: opts.duplicateWindowMs * NS_PER_MS,
    num_replicas: opts.replicas ?? 1,
  });
  await upsertStream(jsm, {
    name: names.deadLetter,
    subjects: [names.deadLetterSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 30 * 24 * 3600 * 1000 * NS_PER_MS,
    duplicate_window: 10 * 60 * 1000 * NS_PER_MS,
    num_replicas: opts.replicas ?? 1,
  });
  await ensureDurableConsumer(jsm, {
    stream: names.orders,
    durable: names.ordersConsumer,
    filterSubject: names.ordersSubjects,
    ackWaitMs: opts.consumerAckWaitMs,
  });
}

/** Removes the streams of a prefix (tests only: each test run owns its prefix). */
export async function deleteStreams(jsm: JetStreamManager, names: StreamNames): Promise<void> {
  for (const name of [names.orders, names.deadLetter]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
}

/**
 * The reservations of one product still waiting in the work-queue stream, i.e. not
 * yet written to PostgreSQL. Read with direct gets by subject (no extra consumer:
 * a work queue admits only one), one message at a time: only a shard rebuild uses it.
 */
export async function inFlightOrders(jsm: JetStreamManager, names: StreamNames, productId: number): Promise<ReservationRecord[]> {
  const out: ReservationRecord[] = [];
  const subject = names.ordersSubject(productId);
  let seq = 1;
  for (;;) {
    const msg = await jsm.direct.getMessage(names.orders, { seq, next_by_subj: subject }).catch((err: unknown) => {
      // a 404 status: nothing stored for the subject from `seq` on
      if ((err as { code?: unknown } | null)?.code === 404) return null;
      throw err;
    });
    if (!msg) return out;
    try {
      out.push(...decodeOrderMessages(msg.data));
    } catch {
      // a malformed message is the consumer's to dead-letter, not a reservation
    }
    seq = msg.seq + 1;
  }
}
