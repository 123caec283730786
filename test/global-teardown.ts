import { stopRedisCluster } from "./support/redis-cluster.ts";
import { TEST_REDIS_CLUSTER_PORT } from "./support/env.ts";

export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_CLUSTER !== "1") await stopRedisCluster(TEST_REDIS_CLUSTER_PORT);
}
