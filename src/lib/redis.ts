/**
 * Redis connections and the inventory's Lua scripts.
 *
 * With REDIS_NODES the client is an ioredis Cluster (the shards of all products are
 * spread over its masters by hash tag); with REDIS_URL a single Redis runs the same
 * scripts. Scripts are files named `<command>-<numberOfKeys>.lua`: the key count is
 * read from the name, each is registered once with `defineCommand`, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT (a restarted or failed-over node).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis, Cluster } from "ioredis";
import type { Config } from "./config.ts";

export type RedisClient = Redis | Cluster;

const LUA_DIR = join(import.meta.dirname, "../../services/inventory/lua");

export const SCRIPT_NAMES = ["reserve", "release", "commit", "load", "restock", "snapshot"] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];
export type ScriptResult = Array<string | number>;
export type Scripts = Record<ScriptName, (keys: string[], args: Array<string | number>) => Promise<ScriptResult>>;

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
      return { name: m[1], numberOfKeys: Number(m[2]), lua: readFileSync(join(dir, file), "utf8") };
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
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        redisOptions: { maxRetriesPerRequest: 2, connectTimeout: 2000 },
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
        if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
        return (await redis.eval(script.lua, script.numberOfKeys, ...keys, ...args)) as ScriptResult;
      }
    };
  }
  return scripts;
}
