/**
 * A whole cluster of the tests' own, run by scripts/cluster.sh (the same script as
 * `npm run cluster`): its own NATS, Redis Cluster with replicas, PostgreSQL, HAProxy and
 * eight service nodes, each a real process that a test may kill, stop or restart.
 * Ports come from FLASH_TEST_PORT_BASE (test/support/env.ts: +20..+79).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  /** how often the cluster's supervisor started it again */
  restarts: number;
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
  /** cluster.sh supervise on|off: processes that die are started again by the cluster itself */
  supervise(on: boolean): Promise<void>;
  signal(name: string, signal: NodeJS.Signals): Promise<number>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** stops every process of the cluster (SIGKILL for any that outlives `cluster.sh purge`) and deletes its data */
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

/**
 * The settings of a cluster that faults are broken into: reservations of `ttlSeconds`,
 * orphans settled and the sweeper run within a second or so, redeliveries after 3 s, a
 * 1.2 s drain on SIGTERM, 5 s request timeouts, 3 s to wait out a Redis failover.
 */
export function faultSettings(ttlSeconds: number): Record<string, string> {
  return {
    RESERVATION_TTL_SECONDS: String(ttlSeconds),
    ORPHAN_GRACE_SECONDS: "1",
    SWEEP_INTERVAL_MS: "500",
    CONSUMER_ACK_WAIT_MS: "3000",
    // longer than HAProxy needs to see a draining gateway unready (fall 2 × inter 500 ms) on
    // a loaded machine: only then may the gateway close its idle keep-alive connections
    SHUTDOWN_DRAIN_MS: "3000",
    REQUEST_TIMEOUT_MS: "5000",
    REDIS_FAILOVER_WAIT_MS: "3000",
  };
}

/** Where the cluster listens: CLUSTER_PORT_BASE (its ports are base..base+40) and HAProxy's PORT. */
export interface ClusterPorts {
  base: number;
  port: number;
}

export async function startCluster(
  settings: Record<string, string> = {},
  { base, port }: ClusterPorts = { base: TEST_PORT_BASE + 20, port: TEST_PORT_BASE + 70 },
): Promise<TestCluster> {
  const prefix = `F${randomBytes(4).toString("hex")}`;
  const env: Record<string, string> = {
    PORT: String(port),
    CLUSTER_PORT_BASE: String(base),
    // a 0700 directory, as a checkout under root's home is: the cluster's PostgreSQL
    // (run as the postgres user) must find a place of its own
    CLUSTER_DIR: mkdtempSync(join(tmpdir(), `flash-faults-${base}-`)),
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
  const run = (args: string[]) => sh(args, env);
  // Every pid the cluster ever showed: what `purge` could not stop is SIGKILLed at the end,
  // if it is still ours (its command line or environment names this cluster).
  const seen = new Set<number>();
  const remember = async () => {
    for (const line of (await run(["ps"]).catch(() => "")).split("\n")) {
      const pid = Number(line.split(/\s+/)[2]);
      if (Number.isInteger(pid) && pid > 0) seen.add(pid);
    }
  };
  const stopAll = async () => {
    await remember();
    await run(["purge"]).catch((err) => console.error(String(err)));
    for (const pid of seen) if (ofThisCluster(pid, env.CLUSTER_DIR, prefix, base)) process.kill(pid, "SIGKILL");
  };
  try {
    await run(["up"]);
  } catch (err) {
    await stopAll();
    throw err;
  }
  try {
    // the tests restart what they break themselves, unless one turns supervision on
    await run(["supervise", "off"]);
    return await connect(env, prefix, base, port, run, remember, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Running (not a zombie), and started for this cluster: its command line or environment says so. */
function ofThisCluster(pid: number, dir: string, prefix: string, base: number): boolean {
  try {
    if (/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
    const ports = Array.from({ length: 9 }, (_, i) => base + 10 + i); // Redis: 3 masters, 2 replicas each
    return cmdline.includes(dir) || readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) ||
      environ.includes(`STREAM_PREFIX=${prefix}\0`) || cmdline.includes(` -p ${base + 40} `) || // the nodes; PostgreSQL
      ports.some((p) => new RegExp(`redis-server 127\\.[0-9.]+:${p}\\b`).test(cmdline)); // 127.0.0.1, or its own (REDIS_HOSTS=distinct)
  } catch {
    return false; // gone
  }
}

async function connect(
  env: Record<string, string>, prefix: string, base: number, port: number,
  run: (args: string[]) => Promise<string>, remember: () => Promise<void>, stopAll: () => Promise<void>,
): Promise<TestCluster> {

  await remember();
  const ps = async (): Promise<Proc[]> =>
    (await run(["ps"])).trim().split("\n").filter(Boolean).map((line) => {
      const [role, name, pid, p, restarts] = line.split(/\s+/);
      return { role, name, pid: pid === "-" ? null : Number(pid), port: p === "-" ? null : Number(p), restarts: Number(restarts) };
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
      await remember();
    },
    async stop(name) {
      await run(["stop", name]);
    },
    async supervise(on) {
      await run(["supervise", on ? "on" : "off"]);
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
      await stopAll();
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
