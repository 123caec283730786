import { mkdtempSync, writeFileSync } from "node:fs";
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
  ["SSE_HEARTBEAT_MS", "20000"],
  ["SSE_MAX_STREAMS", "0"],
  ["SSE_MAX_BUFFERED_BYTES", "10"],
  ["PRODUCT_UPDATE_INTERVAL_MS", "fast"],
])("refuses %s=%s loudly", (name, value) => {
  expect(() => loadConfig({ ...base, [name]: value })).toThrow(ConfigError);
});

test("without any Redis the redis mode refuses to start", () => {
  expect(() => loadConfig({})).toThrow(/REDIS_NODES/);
});

describe("buyer identity", () => {
  test("BUYER_AUTH defaults to none", () => {
    expect(loadConfig({ ...base }).buyerAuth.mode).toBe("none");
  });

  test.each([
    [{ BUYER_AUTH: "oauth" }, /BUYER_AUTH/],
    [{ BUYER_AUTH: "jwt" }, /BUYER_JWT_SECRET .* or BUYER_JWKS/],
    [{ BUYER_AUTH: "jwt", BUYER_JWT_SECRET: "short" }, /at least 32 bytes/],
    [{ BUYER_AUTH: "jwt", BUYER_JWKS: "/nonexistent/jwks.json" }, /cannot read/],
    [{ BUYER_AUTH: "jwt", BUYER_JWKS: "package.json" }, /not a JSON Web Key Set/],
    [{ BUYER_AUTH: "jwt", BUYER_JWKS: "http://id.shop/jwks.json", NODE_ENV: "production", ADMIN_TOKEN: "a", WEBHOOK_SECRET: "w" }, /https/],
    [{ BUYER_AUTH: "jwt", BUYER_JWT_SECRET: "s".repeat(32), BUYER_JWT_LEEWAY_SECONDS: "3600" }, /BUYER_JWT_LEEWAY_SECONDS/],
  ])("refuses %o loudly", (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  test("a JWKS file with a private key is refused", () => {
    const file = `${mkdtempSync("/tmp/flash-jwks-")}/jwks.json`;
    writeFileSync(file, JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b", d: "secret" }] }));
    expect(() => loadConfig({ ...base, BUYER_AUTH: "jwt", BUYER_JWKS: file })).toThrow(/private or symmetric/);
  });

  test("jwt mode with an https JWKS URL, issuer, audiences and leeway", () => {
    const c = loadConfig({
      ...base, BUYER_AUTH: "jwt", BUYER_JWKS: "https://id.shop/.well-known/jwks.json", BUYER_JWT_ISSUER: "https://id.shop",
      BUYER_JWT_AUDIENCE: "a, b", BUYER_JWT_LEEWAY_SECONDS: "10", NODE_ENV: "production", ADMIN_TOKEN: "a", WEBHOOK_SECRET: "w",
    });
    expect(c.buyerAuth).toMatchObject({ mode: "jwt", issuer: "https://id.shop", audience: ["a", "b"], leewaySeconds: 10 });
    expect(String((c.buyerAuth.jwks as { url: URL }).url)).toBe("https://id.shop/.well-known/jwks.json");
  });
});
