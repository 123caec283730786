/**
 * The benchmark's own corner of the machine's services: its database
 * (flash_sale_bench, dropped and recreated per run), its Redis Cluster (the ports
 * scripts/bench.sh started; flushed per run, refused for any other port), its
 * JetStream streams (one STREAM_PREFIX per run, deleted afterwards). Also reads the
 * versions for the report.
 */
import os from "node:os";
import pg from "pg";
import { Redis } from "ioredis";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { streamNames } from "../../src/lib/streams.ts";
import { withClient } from "../../src/lib/db.ts";

/** BENCH_DB and BENCH_PORT_BASE let a second checkout benchmark without touching the first one's corner. */
export const BENCH_DB = process.env.BENCH_DB || "flash_sale_bench";
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(BENCH_DB)) throw new Error(`BENCH_DB must be a lower-case SQL identifier, got ${BENCH_DB}`);
/** where the benchmark's service ports start (the targets take the first free ones from here) */
export const BENCH_PORT_BASE = Number(process.env.BENCH_PORT_BASE || 18300);

export function adminUrl(): string {
  return process.env.PG_ADMIN_URL || "postgres://postgres@127.0.0.1:5432/postgres";
}

export function benchDbUrl(): string {
  const url = new URL(adminUrl());
  url.pathname = `/${BENCH_DB}`;
  return url.toString();
}

/** Drops the benchmark database (only that one); the next run.ts recreates and migrates it. */
export async function dropBenchDb(): Promise<void> {
  await withClient(adminUrl(), (client) => client.query(`drop database if exists ${BENCH_DB} with (force)`));
}

export async function dbQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(benchDbUrl(), async (client) => (await client.query<T>(sql, params)).rows);
}

/** A reusable connection for polling (the drain scenario). */
export async function dbClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: benchDbUrl() });
  await client.connect();
  return client;
}

export function redisNodes(): Array<{ host: string; port: number }> {
  const raw = process.env.REDIS_NODES || "127.0.0.1:17201,127.0.0.1:17202,127.0.0.1:17203";
  return raw.split(",").map((s) => {
    const [host, port] = s.trim().split(":");
    return { host, port: Number(port) };
  });
}

/**
 * FLUSHALL on each master of the benchmark's own cluster. Refuses anything off loopback
 * or outside the three ports scripts/bench.sh started (BENCH_REDIS_PORT, default 17201).
 */
export async function flushBenchRedis(): Promise<void> {
  const own = Number(process.env.BENCH_REDIS_PORT || 17201);
  for (const n of redisNodes()) {
    if (n.host !== "127.0.0.1" || n.port < own || n.port > own + 2) {
      throw new Error(`refusing to flush ${n.host}:${n.port}: not the benchmark's own Redis Cluster`);
    }
    const r = new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      const role = String(await r.call("role"));
      if (role.startsWith("master")) await r.flushall();
    } finally {
      r.disconnect();
    }
  }
}

export async function deleteStreamsOf(natsUrl: string, prefix: string): Promise<void> {
  if (!prefix.startsWith("BENCH")) throw new Error(`refusing to delete streams of prefix ${prefix}`);
  const nc = await connect({ servers: natsUrl.split(","), name: "flash-bench-cleanup" });
  try {
    const jsm = await jetstreamManager(nc);
    const names = streamNames(prefix);
    for (const s of [names.orders, names.deadLetter]) await jsm.streams.delete(s).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  memory_gib: number;
  platform: string;
  node: string;
  redis: string;
  nats: string;
  postgres: string;
}

export async function machineInfo(natsUrl: string): Promise<MachineInfo> {
  const cpus = os.cpus();
  const info: MachineInfo = {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: "unknown",
    nats: "unknown",
    postgres: "unknown",
  };
  try {
    const n = redisNodes()[0];
    const r = new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await r.connect();
    const text = await r.info("server");
    r.disconnect();
    info.redis = /redis_version:(\S+)/.exec(text)?.[1] ?? "unknown";
  } catch (err) {
    info.redis = `unavailable (${(err as Error).message})`;
  }
  try {
    const nc = await connect({ servers: natsUrl.split(","), name: "flash-bench-info" });
    info.nats = nc.info?.version ?? "unknown";
    const js = nc.info?.jetstream ? ", JetStream" : "";
    info.nats += js;
    await nc.close();
  } catch (err) {
    info.nats = `unavailable (${(err as Error).message})`;
  }
  try {
    const { rows } = await withClient(adminUrl(), (client) => client.query<{ version: string }>("select version()"));
    info.postgres = rows[0].version;
  } catch (err) {
    info.postgres = `unavailable (${(err as Error).message})`;
  }
  return info;
}

/**
 * Waits until no transaction is open in the benchmark database in `readings` readings in a
 * row, 100 ms apart (at most `timeoutMs`). After a load stopped at its time limit, the
 * service still works through requests it had read when wrk was stopped (the pg-lock
 * baseline: each one a transaction waiting for the product's row lock); auditing before
 * they end reads a shard in the middle of them. Resolves with the ms waited.
 */
export async function transactionsSettled(timeoutMs: number, readings = 3): Promise<number> {
  return withClient(adminUrl(), async (client) => {
    const t0 = Date.now();
    for (let quiet = 0; quiet < readings && Date.now() - t0 < timeoutMs; ) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and xact_start is not null", [BENCH_DB]);
      quiet = rows[0].n === 0 ? quiet + 1 : 0;
      if (quiet < readings) await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - t0;
  });
}

/** PostgreSQL backend pids connected to the benchmark database right now. */
export async function benchDbBackendPids(): Promise<number[]> {
  const { rows } = await withClient(adminUrl(), (client) => client.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [BENCH_DB]));
  return rows.map((r) => r.pid);
}

/**
 * Reservations still on their way to PostgreSQL (the orders consumer's pending +
 * unacknowledged messages), read from JetStream directly so that waiting for the
 * pipeline to drain costs the service nothing (the audit reads every shard).
 */
export class PipelineProbe {
  readonly #nc: Awaited<ReturnType<typeof connect>>;
  readonly #jsm: Awaited<ReturnType<typeof jetstreamManager>>;
  readonly #names: ReturnType<typeof streamNames>;

  private constructor(nc: Awaited<ReturnType<typeof connect>>, jsm: Awaited<ReturnType<typeof jetstreamManager>>, prefix: string) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#names = streamNames(prefix);
  }

  static async open(natsUrl: string, prefix: string): Promise<PipelineProbe> {
    const nc = await connect({ servers: natsUrl.split(","), name: "flash-bench-probe" });
    return new PipelineProbe(nc, await jetstreamManager(nc), prefix);
  }

  async inFlight(): Promise<number> {
    const info = await this.#jsm.consumers.info(this.#names.orders, this.#names.ordersConsumer);
    return info.num_pending + info.num_ack_pending;
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

/** Calls per Redis command, summed over the benchmark's cluster nodes (INFO commandstats). */
export async function redisCommandCalls(): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const n of redisNodes()) {
    const r = new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      const info = String(await r.info("commandstats"));
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1], (calls.get(m[1]) ?? 0) + Number(m[2]));
    } catch {
      // a node that does not answer is left out of the diagnostic
    } finally {
      r.disconnect();
    }
  }
  return calls;
}
