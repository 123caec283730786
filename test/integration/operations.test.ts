/**
 * What operators rely on: /health checks each dependency for real and names the one
 * that is down, /metrics speaks Prometheus, and a misconfigured node refuses to start.
 */
import { jest } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { startStack, eventually, type Stack } from "../support/stack.ts";

jest.setTimeout(120_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** A NATS server of this test's own, so it can be killed. */
async function ownNats(): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "flash-nats-"));
  const bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((b) => existsSync(b)) ?? "nats-server";
  const proc = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  await eventually(async () => {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: url, reconnect: false });
    await nc.close();
    return true;
  }, 10_000, "own NATS to listen");
  return { url, proc, dir };
}

describe("with every dependency up", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("GET /health says ok and names each dependency up", async () => {
    const r = await stack.http("GET", "/health");
    expect(r).toMatchObject({ status: 200, body: { status: "ok", redis: "up", nats: "up", db: "up" } });
  });

  test("GET /metrics is Prometheus text with request and reservation metrics", async () => {
    const p = await stack.createProduct({ stock: 1 });
    await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "m1" });
    await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "m2" });
    const r = await stack.http("GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = String(r.body);
    expect(text).toMatch(/^# HELP moleculer_request_total/m);
    expect(text).toMatch(/^flash_reservations_total\{outcome="reserved".*\} [1-9]/m);
    expect(text).toMatch(/^flash_reservations_total\{outcome="SOLD_OUT".*\} [1-9]/m);
    expect(text).toMatch(/^flash_orders\{status="pending".*\} \d+/m);
    expect(text).toMatch(/^flash_order_stream_pending(\{.*\})? \d+/m);
  });
});

test("GET /health answers 503 and names NATS when NATS is down", async () => {
  const nats = await ownNats();
  const stack = await startStack({ NATS_URL: nats.url });
  try {
    expect((await stack.http("GET", "/health")).body.nats).toBe("up");
    nats.proc.kill("SIGKILL");
    await new Promise((r) => nats.proc.once("exit", r));
    const r = await eventually(async () => {
      const h = await stack.http("GET", "/health");
      return h.status === 503 ? h : null;
    }, 15_000, "health to notice");
    expect(r.body).toMatchObject({ status: "degraded", nats: "down", redis: "up", db: "up" });
    expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    // and a buyer is told to retry, with nothing reserved
    const p = await stack.broker.call<{ id: number }, object>("inventory.createProduct", { name: "n", price_cents: 1, stock: 3 });
    const order = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "x" });
    expect(order.status).toBe(503);
    expect(order.body.error.code).toBe("UNAVAILABLE");
    expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(3);
  } finally {
    await stack.stop();
    rmSync(nats.dir, { recursive: true, force: true });
  }
});

test("a node refuses to start without WEBHOOK_SECRET outside development and test", async () => {
  const child = spawn(process.execPath, ["scripts/run.ts"], {
    env: { ...process.env, NODE_ENV: "production", WEBHOOK_SECRET: "", ADMIN_TOKEN: "x", REDIS_URL: "redis://127.0.0.1:1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.once("exit", r));
  expect(code).toBe(78);
  expect(err).toMatch(/WEBHOOK_SECRET is required/);
});
