/**
 * Connections shared by the services of one process: when gateway, inventory, orders,
 * payments and sweeper run together they use one Redis client, one MikroORM pool and
 * one NATS connection instead of five of each. Reference-counted: the last service
 * to stop closes the connection.
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import type { Config } from "./config.ts";
import { createRedis, loadScripts, replicatedScripts, type RedisClient, type ReplicatedScripts, type Scripts } from "./redis.ts";
import { initOrm } from "./db.ts";
import { connectJetStream, type JetStreamHandle } from "./streams.ts";

interface Shared<T> {
  value: Promise<T>;
  refs: number;
  close: (v: T) => Promise<void>;
}

const pool = new Map<string, Shared<unknown>>();

async function acquire<T>(key: string, open: () => Promise<T>, close: (v: T) => Promise<void>): Promise<T> {
  let entry = pool.get(key) as Shared<T> | undefined;
  if (!entry) {
    entry = { value: open(), refs: 0, close };
    pool.set(key, entry as Shared<unknown>);
    entry.value.catch(() => pool.delete(key));
  }
  entry.refs++;
  return entry.value;
}

async function release(key: string): Promise<void> {
  const entry = pool.get(key);
  if (!entry) return;
  if (--entry.refs > 0) return;
  pool.delete(key);
  const value = await entry.value.catch(() => undefined);
  if (value !== undefined) await entry.close(value);
}

export interface RedisResource {
  redis: RedisClient;
  scripts: Scripts;
  replicated: ReplicatedScripts;
}

const redisKey = (c: Pick<Config, "redisNodes" | "redisUrl">) => `redis:${c.redisNodes.join(",") || c.redisUrl}`;

export const redisResource = {
  acquire: (c: Pick<Config, "redisNodes" | "redisUrl">) =>
    acquire<RedisResource>(
      redisKey(c),
      async () => {
        const redis = createRedis(c);
        const scripts = loadScripts(redis);
        return { redis, scripts, replicated: replicatedScripts(redis) };
      },
      async ({ redis }) => {
        await redis.quit().catch(() => redis.disconnect());
      },
    ),
  release: (c: Pick<Config, "redisNodes" | "redisUrl">) => release(redisKey(c)),
};

export const ormResource = {
  acquire: (c: Pick<Config, "databaseUrl">) =>
    acquire<MikroORM>(`orm:${c.databaseUrl}`, () => initOrm(c.databaseUrl, 20), (orm) => orm.close(true)),
  release: (c: Pick<Config, "databaseUrl">) => release(`orm:${c.databaseUrl}`),
};

export const jetStreamResource = {
  acquire: (c: Pick<Config, "natsUrl">) =>
    acquire<JetStreamHandle>(
      `nats:${c.natsUrl}`,
      () => connectJetStream(c.natsUrl, "flash-sale"),
      async ({ nc }) => {
        await nc.drain().catch(() => nc.close());
      },
    ),
  release: (c: Pick<Config, "natsUrl">) => release(`nats:${c.natsUrl}`),
};
