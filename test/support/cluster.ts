/**
 * A whole cluster of the tests' own, run by scripts/cluster.sh (the same script as
 * `npm run cluster`): its own NATS, Redis Cluster with replicas, PostgreSQL, HAProxy and
 * eight service nodes, each a real process that a test may kill, stop or restart.
 * Ports come from FLASH_TEST_PORT_BASE (test/support/env.ts: +20..+79).
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Cluster } from "ioredis";
import pg from "pg";
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config.ts";
import { loadConfig } from "../../src/lib/config.ts";
import { TEST_PORT_BASE } from "./env.ts";
import { connectJetStream, type JetStreamHandle } from "../../src/lib/streams.ts";
import type { JetStreamManager } from "@nats-io/jetstream";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const ADMIN_TOKEN = "fault-admin-token";
export const WEBHOOK_SECRET = "fault-webhook-secret";

export interface Proc {
  role: string;
  name: string;
  pid: number | null;
  port: number | null;
}

export interface TestCluster {
  url: string;
  prefix: string;
  env: Record<string, string>;
  db: pg.Pool;
  redis: Cluster;
  /** a service-less Moleculer node in the cluster, to ask services directly */
  broker: ServiceBroker;
  /** JetStream of the cluster's NATS (connected on first use, reconnects after a restart) */
  jsm(): Promise<JetStreamManager>;
  ps(): Promise<Proc[]>;
  proc(name: string): Promise<Proc>;
  /** cluster.sh start NAME: brings a process back, as it was started */
  start(name: string): Promise<void>;
  /** cluster.sh stop NAME: SIGTERM, waits for the exit */
  stop(name: string): Promise<void>;
  signal(name: string, signal: NodeJS.Signals): Promise<number>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  down(): Promise<void>;
}

function sh(args: string[], env: Record<string, string>, timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [`${ROOT}/scripts/cluster.sh`, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 << 20, cwd: ROOT }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cluster.sh ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

export async function startCluster(settings: Record<string, string> = {}): Promise<TestCluster> {
  const base = TEST_PORT_BASE + 20;
  const port = TEST_PORT_BASE + 70;
  const prefix = `F${randomBytes(4).toString("hex")}`;
  const env: Record<string, string> = {
    PORT: String(port),
    CLUSTER_PORT_BASE: String(base),
    CLUSTER_DIR: `${ROOT}/.data/faults-${base}`,
    CLUSTER_PREFIX: prefix,
    CLUSTER_OWN_PG: "1",
    NODE_ENV: "test",
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    SEED_PRODUCT: "false",
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_SECOND: "1000",
    RATE_LIMIT_BURST: "1000",
    ...settings,
  };
  // a cluster left over by an interrupted run of this same checkout, and its data
  await sh(["down"], env).catch(() => undefined);
  rmSync(env.CLUSTER_DIR, { recursive: true, force: true });
  await sh(["up"], env);
  const run = (args: string[]) => sh(args, env);

  const ps = async (): Promise<Proc[]> =>
    (await run(["ps"])).trim().split("\n").filter(Boolean).map((line) => {
      const [role, name, pid, p] = line.split(/\s+/);
      return { role, name, pid: pid === "-" ? null : Number(pid), port: p === "-" ? null : Number(p) };
    });

  const redis = new Cluster([0, 1, 2].map((i) => ({ host: "127.0.0.1", port: base + 10 + i })), {
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1000 },
  });
  await new Promise((resolve, reject) => {
    redis.once("ready", resolve);
    redis.once("error", reject);
  });
  const db = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${base + 40}/flash_${prefix.toLowerCase()}`, max: 4 });
  db.on("error", () => undefined); // the PostgreSQL outage test stops it under us
  const broker = new ServiceBroker({
    ...brokerOptions(loadConfig({ NODE_ENV: "test", SERVICES: "none", TRANSPORTER: "nats", NATS_URL: `nats://127.0.0.1:${base}`, STREAM_PREFIX: prefix })),
    nodeID: `fault-test-${process.pid}`,
    logger: false,
  });
  await broker.start();
  await broker.waitForServices(["inventory", "orders", "payments", "sweeper", "gateway"], 60_000);

  let nats: Promise<JetStreamHandle> | null = null;
  const cluster: TestCluster = {
    jsm: async () => (await (nats ??= connectJetStream(`nats://127.0.0.1:${base}`, "fault-test"))).jsm,
    url: `http://127.0.0.1:${port}`,
    prefix,
    env,
    db,
    redis,
    broker,
    ps,
    async proc(name) {
      const p = (await ps()).find((x) => x.name === name);
      if (!p) throw new Error(`no process ${name} in the cluster`);
      return p;
    },
    async start(name) {
      await run(["start", name]);
    },
    async stop(name) {
      await run(["stop", name]);
    },
    async signal(name, signal) {
      const p = await cluster.proc(name);
      if (!p.pid) throw new Error(`${name} is not running`);
      process.kill(p.pid, signal);
      return p.pid;
    },
    async admin(method, path, body) {
      const res = await fetch(cluster.url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async down() {
      await broker.stop().catch(() => undefined);
      if (nats) await (await nats).nc.close().catch(() => undefined);
      await db.end().catch(() => undefined);
      redis.disconnect();
      await run(["down"]);
    },
  };
  return cluster;
}

/** Resolves once the process has exited (its pid no longer exists). */
export async function exited(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`pid ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
