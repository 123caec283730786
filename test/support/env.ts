/** Ports and names the test suite owns (never the machine's shared services). */
export const TEST_REDIS_CLUSTER_PORT = 17101;
export const TEST_REDIS_NODES = ["127.0.0.1:17101", "127.0.0.1:17102", "127.0.0.1:17103"];
export const TEST_DATABASE = "flash_sale_test";
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_DATABASE_URL = (() => {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${TEST_DATABASE}`;
  return u.toString();
})();
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
