/**
 * How many replicas each Redis master has, read from INFO replication on every master
 * (one command per master, at scrape time only). A master without a replica loses
 * its shards' reservations with its process: the alert an operator must hear.
 */
import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "../../src/lib/redis.ts";

export interface MasterReplicas {
  master: string;
  replicas: number;
}

/** `connected_slaves:<n>` of an INFO replication answer (the field name Redis 7 still uses). */
export function connectedReplicas(info: string): number {
  const m = /^connected_slaves:(\d+)\s*$/m.exec(info);
  if (!m) throw new Error("INFO replication has no connected_slaves field");
  return Number(m[1]);
}

export async function replicasPerMaster(redis: RedisClient): Promise<MasterReplicas[]> {
  const masters: Redis[] = redis instanceof Cluster ? redis.nodes("master") : [redis];
  return Promise.all(
    masters.map(async (node) => ({
      master: `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`,
      replicas: connectedReplicas(await node.info("replication")),
    })),
  );
}
