import { loadConfig, ConfigError } from "../../src/lib/config.ts";

const base = { REDIS_NODES: "127.0.0.1:1,127.0.0.1:2" };

test("development defaults are complete", () => {
  const c = loadConfig({ ...base });
  expect(c).toMatchObject({ port: 3000, reservationTtlSeconds: 600, inventoryMode: "redis", services: ["gateway", "inventory", "orders", "payments", "sweeper"] });
});

test("outside development and test, WEBHOOK_SECRET and ADMIN_TOKEN are required", () => {
  expect(() => loadConfig({ ...base, NODE_ENV: "production", ADMIN_TOKEN: "a" })).toThrow(/WEBHOOK_SECRET/);
  expect(() => loadConfig({ ...base, NODE_ENV: "production", WEBHOOK_SECRET: "w" })).toThrow(/ADMIN_TOKEN/);
  expect(loadConfig({ ...base, NODE_ENV: "production", WEBHOOK_SECRET: "w", ADMIN_TOKEN: "a" }).webhookSecret).toBe("w");
});

test.each([
  ["PORT", "http"],
  ["PORT", "70000"],
  ["RESERVATION_TTL_SECONDS", "0"],
  ["RESERVATION_TTL_SECONDS", "1.5"],
  ["INVENTORY_MODE", "mongo"],
  ["REDIS_NODES", "localhost"],
  ["SERVICES", "gateway,billing"],
  ["STREAM_PREFIX", "has space"],
])("refuses %s=%s loudly", (name, value) => {
  expect(() => loadConfig({ ...base, [name]: value })).toThrow(ConfigError);
});

test("without any Redis the redis mode refuses to start", () => {
  expect(() => loadConfig({})).toThrow(/REDIS_NODES/);
});
