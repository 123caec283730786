/**
 * A whole flash-sale node in the test process: the real services on a real Redis
 * Cluster, PostgreSQL and NATS, with a stream prefix of its own and the gateway on
 * an ephemeral port. `http()` talks to it like any client.
 */
import { randomBytes, randomInt } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { BrokerOptions, ServiceBroker } from "moleculer";
import pg from "pg";
import { loadConfig, type Config } from "../../src/lib/config.ts";
import { withClient } from "../../src/lib/db.ts";
import { connectJetStream, deleteStreams, ensureStreams, streamNames, type JetStreamHandle } from "../../src/lib/streams.ts";
import { createBroker } from "../../services/index.ts";
export { eventually } from "./eventually.ts";
import { NATS_URL, PG_ADMIN_URL, TEST_DATABASE, TEST_DATABASE_URL, TEST_REDIS_NODES } from "./env.ts";
import { listenForEvents } from "./events.ts";

export const ADMIN_TOKEN = "test-admin-token";
export const WEBHOOK_SECRET = "test-webhook-secret";

export interface Stack {
  config: Readonly<Config>;
  broker: ServiceBroker;
  baseUrl: string;
  db: pg.Pool;
  nats: JetStreamHandle;
  http: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<HttpReply>;
  createProduct: (fields: Record<string, unknown>) => Promise<{ id: number } & Record<string, unknown>>;
  stop: () => Promise<void>;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  body: any;
}

export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_NODES: TEST_REDIS_NODES.join(","),
    NATS_URL,
    TRANSPORTER: "none",
    STREAM_PREFIX: `T${randomBytes(5).toString("hex")}`,
    LOG_LEVEL: "warn",
    ...env,
  });
}

export async function setupStreams(config: Readonly<Config>): Promise<void> {
  const h = await connectJetStream(config.natsUrl, "test-setup");
  await ensureStreams(h.jsm, streamNames(config.streamPrefix), { duplicateWindowMs: 20 * 60 * 1000, consumerAckWaitMs: config.consumerAckWaitMs });
  await h.nc.close();
}

/**
 * A throwaway database per stack, copied from the migrated template, with product ids
 * starting at a random base: stacks share one Redis Cluster, and shards are keyed by
 * product id.
 */
async function createTestDatabase(prefix: string): Promise<string> {
  const url = await copyTemplateDatabase(`${TEST_DATABASE}_${prefix.toLowerCase()}`);
  await withClient(url, (db) => db.query(`alter sequence products_id_seq restart with ${randomInt(1, 2000) * 1_000_000}`));
  return url;
}

/** Creates database `name` as a copy of the migrated template; returns its URL. */
export async function copyTemplateDatabase(name: string): Promise<string> {
  await withClient(PG_ADMIN_URL, async (admin) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database ${name} template ${TEST_DATABASE}`);
        return;
      } catch (err) {
        // another file is copying the template at this instant
        if ((err as { code?: string }).code !== "55006" || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropTestDatabase(url: string): Promise<void> {
  await withClient(PG_ADMIN_URL, (admin) => admin.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`).catch(() => undefined));
}

/** `brokerOptions`: extra options of the node's broker, e.g. middlewares that observe it. */
export async function startStack(env: Record<string, string> = {}, brokerOptions: BrokerOptions = {}): Promise<Stack> {
  const prefix = env.STREAM_PREFIX ?? `T${randomBytes(5).toString("hex")}`;
  const ownDatabase = env.DATABASE_URL === undefined && env.STREAM_PREFIX === undefined;
  const databaseUrl = env.DATABASE_URL ?? (ownDatabase ? await createTestDatabase(prefix) : undefined);
  const config = testConfig({ ...env, STREAM_PREFIX: prefix, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
  await setupStreams(config);
  const broker = createBroker(config, { logger: { type: "Console", options: { level: "warn" } }, ...brokerOptions });
  await broker.start();
  let baseUrl = "";
  if (config.services.includes("gateway")) {
    const server = (broker.getLocalService("gateway") as unknown as { server: Server }).server;
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  const nats = await connectJetStream(config.natsUrl, "test-observer");

  const http: Stack["http"] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    const res = await fetch(baseUrl + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text, the test will say so
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };

  const createProduct: Stack["createProduct"] = async (fields) => {
    const r = await http("POST", "/api/admin/products", { name: "Test product", price_cents: 1000, stock: 10, ...fields }, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    if (r.status !== 201) throw new Error(`create product: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  return {
    config, broker, baseUrl, db, nats, http, createProduct,
    async stop() {
      if (broker.started) await broker.stop(); // a test may have shut it down itself
      await db.end();
      if (ownDatabase) {
        // the streams live on the NATS a test may have killed: best effort
        // (an unref'd timer: a pending one would hold the jest worker open after the file)
        await Promise.race([deleteStreams(nats.jsm, streamNames(config.streamPrefix)), new Promise((r) => setTimeout(r, 2000).unref())]);
        await dropTestDatabase(config.databaseUrl);
      }
      await nats.nc.close().catch(() => undefined);
    },
  };
}

/**
 * A stack for the whole test file: started before its tests, stopped after them, handed
 * to `set`. With `events`, the stack's broker records the services' events (./events.ts),
 * so tests can await them.
 */
export function useStack(set: (stack: Stack) => void, env: Record<string, string> = {}, { events = false } = {}): void {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack(env);
    if (events) await listenForEvents(stack.broker);
    set(stack);
  });
  afterAll(async () => {
    await stack?.stop();
  });
}
