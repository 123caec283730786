/**
 * Redis connections and the inventory's Lua scripts.
 *
 * With REDIS_NODES the client is an ioredis Cluster (the shards of all products are
 * spread over its masters by hash tag); with REDIS_URL a single Redis runs the same
 * scripts. Scripts are files named `<command>-<numberOfKeys>.lua`: the key count is
 * read from the name, each is registered once with `defineCommand`, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT (a restarted or failed-over node).
 * Lua shared by several scripts lives in `lua/includes/<name>.lua` and is pulled in by a
 * line `-- @include "<name>"` (once per script), never pasted.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis, Cluster, ReplyError } from "ioredis";
import type { Config } from "./config.ts";

export type RedisClient = Redis | Cluster;

const LUA_DIR = join(import.meta.dirname, "../../services/inventory/lua");

export const SCRIPT_NAMES = [
  "reserveBatch", "replayKey", "release", "commit", "load", "restock", "snapshot",
  "lineOpen", "lineJoin", "lineLeave", "lineAdmit", "lineRead",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];
export type ScriptResult = Array<string | number>;
export type Scripts = Record<ScriptName, (keys: string[], args: Array<string | number>) => Promise<ScriptResult>>;
/**
 * A script, then `WAIT replicas timeoutMs` in the same pipeline: both reach the master
 * of the keys' slot on one connection, so the reply says how many replicas hold the
 * script's writes. Resolves to the script's reply and that count.
 */
export type ReplicatedScripts = Record<
  ScriptName,
  (keys: string[], args: Array<string | number>, replicas: number, timeoutMs: number) => Promise<{ reply: ScriptResult; replicas: number }>
>;

export interface LuaScript {
  name: string;
  numberOfKeys: number;
  lua: string;
}

export function readScripts(dir = LUA_DIR): LuaScript[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".lua"))
    .map((file) => {
      const m = /^([a-zA-Z]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`Lua script ${file} must be named <command>-<numberOfKeys>.lua`);
      return { name: m[1], numberOfKeys: Number(m[2]), lua: withIncludes(readFileSync(join(dir, file), "utf8"), dir, file) };
    });
}

const INCLUDE_RE = /^--\s*@include\s+"([A-Za-z]+)"\s*$/gm;

/** Replaces each `-- @include "<name>"` line by lua/includes/<name>.lua; a second include of one name adds nothing. */
function withIncludes(lua: string, dir: string, file: string, seen = new Set<string>()): string {
  return lua.replace(INCLUDE_RE, (_line, name: string) => {
    if (seen.has(name)) return "";
    seen.add(name);
    const path = join(dir, "includes", `${name}.lua`);
    if (!existsSync(path)) throw new Error(`Lua script ${file} includes "${name}", but ${path} does not exist`);
    return withIncludes(readFileSync(path, "utf8"), dir, file, seen);
  });
}

export function createRedis(config: Pick<Config, "redisNodes" | "redisUrl">): RedisClient {
  if (config.redisNodes.length > 0) {
    return new Cluster(
      config.redisNodes.map((n) => {
        const [host, port] = n.split(":");
        return { host, port: Number(port) };
      }),
      {
        // Auto-pipelining batches concurrent commands into one write per node. ioredis
        // had a reply-misalignment bug for custom commands after NOSCRIPT retries
        // (redis/ioredis#1931): test/lua/alignment.test.ts guards against it.
        enableAutoPipelining: true,
        scaleReads: "master",
        slotsRefreshTimeout: 2000,
        // Failover: a dead master's commands fail fast (connection refused, one retry),
        // and the inventory retries them itself until the replica is promoted or its
        // own deadline (REDIS_FAILOVER_WAIT_MS) passes, then answers 503. ioredis'
        // redirection budget (16 × 100 ms) is shorter than a failover and would end in
        // errors mid-promotion; the slot map is refreshed every few seconds as well.
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 200,
        maxRedirections: 16,
        slotsRefreshInterval: 2000,
        redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1000 },
      },
    );
  }
  if (!config.redisUrl) throw new Error("no Redis configured");
  return new Redis(config.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2, connectTimeout: 2000 });
}

/** Registers every script once on the client and returns typed callers. */
export function loadScripts(redis: RedisClient): Scripts {
  const found = new Map(readScripts().map((s) => [s.name, s]));
  const scripts = {} as Scripts;
  for (const name of SCRIPT_NAMES) {
    const script = found.get(name);
    if (!script) throw new Error(`missing Lua script ${name}-<keys>.lua in ${LUA_DIR}`);
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    const command = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<ScriptResult>>)[name].bind(redis);
    scripts[name] = async (keys, args) => {
      if (keys.length !== script.numberOfKeys) {
        throw new Error(`${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
      }
      try {
        return await command(...keys, ...args);
      } catch (err) {
        // NOSCRIPT means the script did not run: sending it whole is always safe.
        // (ioredis retries this itself, except inside some auto-pipelines.)
        if (redisReplyCode(err) !== "NOSCRIPT") throw err;
        return (await redis.eval(script.lua, script.numberOfKeys, ...keys, ...args)) as ScriptResult;
      }
    };
  }
  return scripts;
}

/** The scripts registered by loadScripts, each followed by WAIT in one pipeline (see ReplicatedScripts). */
export function replicatedScripts(redis: RedisClient): ReplicatedScripts {
  const out = {} as ReplicatedScripts;
  for (const name of SCRIPT_NAMES) {
    out[name] = async (keys, args, replicas, timeoutMs) => {
      const pipeline = redis.pipeline() as unknown as Record<string, (...a: Array<string | number>) => unknown> & {
        wait(n: number, ms: number): unknown;
        exec(): Promise<Array<[Error | null, unknown]> | null>;
      };
      pipeline[name](...keys, ...args);
      pipeline.wait(replicas, timeoutMs);
      const replies = await pipeline.exec();
      if (!replies) throw new Error(`${name}: the pipeline was discarded`);
      const [[scriptErr, reply], [waitErr, acked]] = replies;
      if (scriptErr) throw scriptErr;
      if (waitErr) throw waitErr;
      return { reply: reply as ScriptResult, replicas: Number(acked) };
    };
  }
  return out;
}

/**
 * The code of an error reply from Redis: its first word ("WRONGTYPE", "ERR", "MOVED", ...),
 * as the protocol defines it; null for an error that is not Redis's reply.
 */
export function redisReplyCode(err: unknown): string | null {
  return err instanceof ReplyError ? (err as Error).message.split(" ", 1)[0] : null;
}

/** Replies of a node that cannot serve the slot now: a failover, a moved slot, a node starting. */
const TRANSIENT_REPLIES: ReadonlySet<string> = new Set(["MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN", "LOADING", "MASTERDOWN", "READONLY", "NOREPLICAS"]);

/**
 * Errors that mean "this command may not have reached a master that serves the slot":
 * a dead or restarting node, a failover in progress, a slot that moved. Retrying such a
 * command is safe for our scripts (each is idempotent: reserve on its order id, release
 * and commit on the reservation, restock on the database's total).
 */
export function isRedisTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const reply = redisReplyCode(err);
  if (reply !== null) return TRANSIENT_REPLIES.has(reply);
  // ioredis raises these as plain Errors: no code or class tells them apart but the message
  const m = err.message;
  return (
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|Reached the max retries per request|Too many Cluster redirections|Command timed out|Stream isn't writeable/i.test(m) ||
    err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError"
  );
}
