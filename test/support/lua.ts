/**
 * The inventory's Lua scripts on the suite's Redis Cluster, for a test file that calls
 * them directly (test/lua/): connected before its tests, closed after them. Read
 * `.redis` and `.scripts` inside tests (they exist once beforeAll ran).
 */
import { Cluster } from "ioredis";
import { loadScripts, type Scripts } from "../../src/lib/redis.ts";
import { TEST_REDIS_NODES } from "./env.ts";

export function scriptsOnTestCluster(): { redis: Cluster; scripts: Scripts } {
  const handle = {} as { redis: Cluster; scripts: Scripts };
  beforeAll(() => {
    handle.redis = new Cluster(TEST_REDIS_NODES.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
    handle.scripts = loadScripts(handle.redis);
  });
  afterAll(async () => {
    await handle.redis.quit();
  });
  return handle;
}
