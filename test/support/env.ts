/**
 * Ports and names the test suite owns (never the machine's shared services).
 *
 * FLASH_TEST_PORT_BASE (default 17100) moves every port the suite opens, and
 * FLASH_TEST_DB (default flash_sale_test) names its databases, so two checkouts can
 * run their suites side by side on one machine. The suite's ports, from the base:
 *   +1..+3    the shared Redis Cluster          +11..+13  the shard-loss cluster
 *   +20..+79  the cluster tests (test/faults)   +80..+85  the script test's Redis Cluster
 *   +86       the graceful-shutdown test's node +87..+88  the replay test's Redis master and replica
 *   +90       the image test (test/deploy)
 *   +91..+97  the README check (test/deploy/readme.test.ts): two gateways, a Redis Cluster
 *   +200..+250  the chaos run (test/faults/chaos.test.ts): its cluster, HAProxy on +250
 * FLASH_TEST_SEED replays the generated requests of a failed property-based run.
 */
const base = Number(process.env.FLASH_TEST_PORT_BASE ?? 17100);
if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error(`FLASH_TEST_PORT_BASE must be a port in [1024, 65000], got ${process.env.FLASH_TEST_PORT_BASE}`);
export const TEST_PORT_BASE = base;
export const TEST_REDIS_CLUSTER_PORT = base + 1;
export const TEST_REDIS_NODES = [0, 1, 2].map((i) => `127.0.0.1:${TEST_REDIS_CLUSTER_PORT + i}`);
export const SHARD_LOSS_REDIS_PORT = base + 11;
export const REPLAY_REDIS_PORT = base + 87;
export const TEST_DATABASE = process.env.FLASH_TEST_DB ?? "flash_sale_test";
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(TEST_DATABASE)) throw new Error(`FLASH_TEST_DB must be a lower-case SQL identifier, got ${TEST_DATABASE}`);
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_DATABASE_URL = (() => {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${TEST_DATABASE}`;
  return u.toString();
})();
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const seed = process.env.FLASH_TEST_SEED;
if (seed !== undefined && !/^-?\d{1,10}$/.test(seed)) throw new Error(`FLASH_TEST_SEED must be an integer, got ${seed}`);
export const TEST_SEED = seed === undefined ? undefined : Number(seed);
