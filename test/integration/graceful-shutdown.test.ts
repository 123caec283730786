/**
 * SIGTERM on a real node process (scripts/run.ts), with clients talking to it
 * directly, no balancer in between to retry a refused connection: for the whole
 * SHUTDOWN_DRAIN_MS it answers every request on a new connection (readiness 503,
 * the rest as usual, each with `Connection: close`), then its live streams end, the
 * broker stops, it logs "stopped cleanly" and exits 0.
 */
import { jest } from "@jest/globals";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { copyTemplateDatabase, ADMIN_TOKEN, WEBHOOK_SECRET } from "../support/stack.ts";
import { spawnNode, type NodeProcess } from "../support/node-process.ts";
import { withClient } from "../../src/lib/db.ts";
import { connectJetStream, deleteStreams, streamNames } from "../../src/lib/streams.ts";
import { NATS_URL, PG_ADMIN_URL, TEST_DATABASE, TEST_PORT_BASE, TEST_REDIS_NODES } from "../support/env.ts";

jest.setTimeout(90_000);

const PORT = TEST_PORT_BASE + 86;
const DRAIN_MS = 2500;
const prefix = `GS${randomBytes(4).toString("hex")}`;
const database = `${TEST_DATABASE}_${prefix.toLowerCase()}`;
let node: NodeProcess | undefined;

afterAll(async () => {
  await node?.kill();
  const h = await connectJetStream(NATS_URL, "graceful-shutdown-cleanup");
  await deleteStreams(h.jsm, streamNames(prefix)).catch(() => undefined);
  await h.nc.close();
  await withClient(PG_ADMIN_URL, (admin) => admin.query(`drop database if exists ${database} with (force)`));
});

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** One request on a connection of its own (no keep-alive agent): a refused connection rejects. */
function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: "127.0.0.1", port: PORT, method, path, agent: false,
      headers: { ...(payload ? { "content-type": "application/json" } : {}), ...headers },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

test("SIGTERM: every request sent straight to the node during its drain is answered (readiness 503, Connection: close), then its streams end and it stops cleanly with exit 0", async () => {
  const databaseUrl = await copyTemplateDatabase(database);
  node = spawnNode({
    NODE_ENV: "test", PORT: String(PORT), HOST: "127.0.0.1", TRANSPORTER: "none", LOG_LEVEL: "info",
    ADMIN_TOKEN, WEBHOOK_SECRET, DATABASE_URL: databaseUrl, REDIS_NODES: TEST_REDIS_NODES.join(","), NATS_URL,
    STREAM_PREFIX: prefix, SEED_PRODUCT: "false", SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
  });
  await node.printed("flash-sale listening");
  const created = await request("POST", "/api/admin/products", { name: "Drain", price_cents: 100, stock: 100_000, max_per_order: 1 }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(created.status).toBe(201);
  const productId = (JSON.parse(created.body) as { id: number }).id;

  // a live stream open when the signal comes: it must end by itself before the exit
  let streamEnded = false;
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: "127.0.0.1", port: PORT, path: `/api/products/${productId}/events`, agent: false }, resolve).on("error", reject));
  expect(stream.statusCode).toBe(200);
  stream.on("data", () => undefined);
  stream.on("end", () => (streamEnded = true));
  stream.on("error", () => undefined);

  node.child.kill("SIGTERM");
  const signalledAt = Date.now();
  await node.printed("shutting down (SIGTERM)");

  // well inside the promised drain: every kind of request, each on a new connection
  const answers: Array<{ what: string; status: number | string; connection?: string }> = [];
  let i = 0;
  while (Date.now() - signalledAt < DRAIN_MS - 400) {
    const tries: Array<[string, Promise<Answer>]> = [
      ["ready", request("GET", "/health/ready")],
      ["product", request("GET", `/api/products/${productId}`)],
      ["order", request("POST", "/api/orders", { product_id: productId, qty: 1, user_id: `drain-${i++}` })],
    ];
    for (const [what, p] of tries) {
      const a = await p.then((r) => ({ what, status: r.status, connection: r.connection }), (err: NodeJS.ErrnoException) => ({ what, status: err.code ?? String(err) }));
      answers.push(a);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const expected = { ready: 503, product: 200, order: 202 } as Record<string, number>;
  expect(answers.length).toBeGreaterThanOrEqual(15);
  expect(answers.filter((a) => a.status !== expected[a.what] || a.connection !== "close")).toEqual([]);

  expect(await node.exited).toBe(0);
  expect(node.output()).toContain("stopped cleanly");
  expect(streamEnded).toBe(true);
});
