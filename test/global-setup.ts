/**
 * Once per test run: our own Redis Cluster (emptied: it is ours), a fresh test
 * database with the migrations applied. NATS is the machine's, with stream names
 * unique per test file.
 */
import pg from "pg";
import { Cluster } from "ioredis";
import { startRedisCluster } from "./support/redis-cluster.ts";
import { migrateUp } from "../src/lib/db.ts";
import { PG_ADMIN_URL, TEST_DATABASE, TEST_DATABASE_URL, TEST_REDIS_CLUSTER_PORT } from "./support/env.ts";

export default async function globalSetup(): Promise<void> {
  const nodes = await startRedisCluster(TEST_REDIS_CLUSTER_PORT);
  const cluster = new Cluster(nodes.map((n: string) => ({ host: n.split(":")[0], port: Number(n.split(":")[1]) })));
  await new Promise((resolve, reject) => {
    cluster.once("ready", resolve);
    cluster.once("error", reject);
  });
  const masters = cluster.nodes("master");
  if (masters.length !== 3) throw new Error(`test cluster has ${masters.length} masters, expected 3`);
  await Promise.all(masters.map((n) => n.flushall()));
  await cluster.quit();

  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${TEST_DATABASE} with (force)`);
  await admin.query(`create database ${TEST_DATABASE}`);
  await admin.end();
  await migrateUp(TEST_DATABASE_URL);
}
