/**
 * The dashboard of a cluster: two gateway nodes over NATS. The stream opened on one
 * of them lists both nodes, reads each gateway's answers on its own node, and its
 * request rate is the sum of theirs. Nodes that leave: cleanly (off the list at once)
 * or vanished (listed unavailable for a while, then dropped).
 */
import { jest } from "@jest/globals";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { ServiceBroker } from "moleculer";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { startStack, eventually, testConfig, ADMIN_TOKEN, type Stack } from "../support/stack.ts";
import { openSse, type SseStream } from "../support/sse.ts";
import { createBroker } from "../../services/index.ts";
import type { DashboardSnapshot } from "../../src/ops/dashboard-view.ts";
import { DashboardFeed } from "../../src/ops/dashboard-feed.ts";
import { brokerOptions } from "../../moleculer.config.ts";

jest.setTimeout(90_000);

let a: Stack;
let b: ServiceBroker;
let bUrl: string;
let stream: SseStream | undefined;

beforeAll(async () => {
  a = await startStack({ TRANSPORTER: "nats", NODE_ID: "dash-a" });
  b = createBroker(testConfig({
    TRANSPORTER: "nats", SERVICES: "gateway", NODE_ID: "dash-b",
    STREAM_PREFIX: a.config.streamPrefix, DATABASE_URL: a.config.databaseUrl, SHUTDOWN_DRAIN_MS: "10000",
  }), { logger: false });
  await b.start();
  bUrl = `http://127.0.0.1:${((b.getLocalService("gateway") as unknown as { server: Server }).server.address() as AddressInfo).port}`;
  await eventually(async () => a.broker.registry.getActionEndpoints("gateway.dashboardNode")?.count() === 2, 15_000, "both gateway nodes");
});

afterAll(async () => {
  stream?.close();
  await b?.stop();
  await a?.stop();
});

const order = (base: string, productId: number, user: string) =>
  fetch(base + "/api/orders", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ product_id: productId, qty: 1, user_id: user }) })
    .then((r) => r.status);

test("the cluster view lists both gateway nodes, their answers read on each node, and the req/s adds up across them", async () => {
  const p = await a.createProduct({ stock: 100000, per_user_limit: null });
  const session = await a.http("POST", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  stream = await openSse(a.baseUrl + "/api/admin/dashboard/events", { cookie: session.headers.get("set-cookie")!.split(";")[0] });
  const snap = (check: (s: DashboardSnapshot) => boolean) => (e: { event: string; data: string }) => {
    const s = e.event === "snapshot" ? (JSON.parse(e.data) as DashboardSnapshot) : null;
    return s && check(s) ? s : null;
  };

  // a known number of answers on each node
  expect(await Promise.all(Array.from({ length: 3 }, (_, i) => order(a.baseUrl, p.id, `a-${i}`)))).toEqual([202, 202, 202]);
  expect(await Promise.all(Array.from({ length: 5 }, (_, i) => order(bUrl, p.id, `b-${i}`)))).toEqual([202, 202, 202, 202, 202]);
  const counted = await stream.next(snap((s) => s.requests.by_node.length === 2 && s.requests.totals["202"] === 8), 15_000, "8 answers from two nodes");
  expect(counted.requests.by_node).toEqual([
    expect.objectContaining({ node_id: "dash-a", total: 3 }),
    expect.objectContaining({ node_id: "dash-b", total: 5 }),
  ]);
  const nodes = Object.fromEntries(counted.nodes.map((n) => [n.id, n]));
  expect(nodes["dash-a"]).toMatchObject({ available: true, draining: false, local: true, services: ["gateway", "inventory", "lifecycle", "orders", "payments", "sweeper"] });
  expect(nodes["dash-b"]).toMatchObject({ available: true, draining: false, local: false, services: ["gateway", "lifecycle"] });

  // while both nodes take orders, some reading sees both answering, and the total rate is their sum
  let running = true;
  const load = (async () => {
    let n = 0;
    while (running) {
      n++;
      await Promise.all([order(a.baseUrl, p.id, `la-${n}`), order(bUrl, p.id, `lb-${n}`)]);
    }
  })();
  try {
    const busy = await stream.next(snap((s) => s.requests.by_node.length === 2 && s.requests.by_node.every((n) => n.per_second > 0)),
      20_000, "both nodes answering at once");
    const sum = busy.requests.by_node.reduce((acc, n) => acc + n.per_second, 0);
    expect(Math.abs(busy.requests.total_per_second - sum)).toBeLessThanOrEqual(0.2); // each figure is rounded to 0.1
    expect(Math.abs(busy.requests.per_second["202"] - busy.requests.total_per_second)).toBeLessThanOrEqual(0.2);
    expect(busy.nodes.find((n) => n.id === "dash-b")!.per_second).toBe(busy.requests.by_node[1].per_second);
  } finally {
    running = false;
    await load;
  }
});

test("signing out on one node revokes the cookie on every node: new streams are 401 and the open one ends", async () => {
  const session = await a.http("POST", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  const cookie = session.headers.get("set-cookie")!.split(";")[0];
  const open = await openSse(bUrl + "/api/admin/dashboard/events", { cookie });
  try {
    expect(open.status).toBe(200);
    await open.next((e) => e.event === "snapshot", 10_000, "a first snapshot");
    const out = await a.http("DELETE", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}`, cookie });
    expect(out.status).toBe(204);
    // the cookie-authorised routes of the dashboard (its token-authorised ones take the Bearer token only)
    for (const base of [a.baseUrl, bUrl]) {
      const again = await openSse(base + "/api/admin/dashboard/events", { cookie });
      again.close();
      expect({ base, status: again.status, code: again.text && JSON.parse(again.text).error.code }).toEqual({ base, status: 401, code: "UNAUTHORIZED" });
    }
    await open.next((e) => e.event === "expired", 10_000, "the signed-out stream's end");
    // another session is not touched by it
    const other = await a.http("POST", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const fresh = await openSse(bUrl + "/api/admin/dashboard/events", { cookie: other.headers.get("set-cookie")!.split(";")[0] });
    fresh.close();
    expect(fresh.status).toBe(200);
  } finally {
    open.close();
  }
});

test("a node being drained shows as draining in the cluster view", async () => {
  const session = await a.http("POST", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  const s = await openSse(a.baseUrl + "/api/admin/dashboard/events", { cookie: session.headers.get("set-cookie")!.split(";")[0] });
  try {
    await a.broker.call("lifecycle.drain", {}, { nodeID: "dash-b" });
    const seen = await s.next((e) => {
      const x = e.event === "snapshot" ? (JSON.parse(e.data) as DashboardSnapshot) : null;
      return x?.nodes.find((n) => n.id === "dash-b")?.draining ? x : null;
    }, 10_000, "dash-b draining");
    expect(seen.nodes.find((n) => n.id === "dash-a")!.draining).toBe(false);
  } finally {
    s.close();
  }
});

test("a node that leaves cleanly (the REPL, a stopped node) is off the node list at once; one that vanishes is listed unavailable, then dropped", async () => {
  const listedMs = 3000;
  const feed = new DashboardFeed(a.broker, { vanishedListedMs: listedMs });
  const snapshots: DashboardSnapshot[] = [];
  const off = feed.subscribe((s) => snapshots.push(s));
  const listed = (id: string) => snapshots.at(-1)?.nodes.find((n) => n.id === id);
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    import { ServiceBroker } from "moleculer";
    const b = new ServiceBroker({ namespace: process.env.NS, nodeID: "dash-gone", transporter: process.env.NATS, logger: false, heartbeatInterval: 1 });
    await b.start();
    setInterval(() => {}, 60_000);`], {
    cwd: resolve(import.meta.dirname, "../.."),
    env: { PATH: String(process.env.PATH), NS: String(brokerOptions(a.config).namespace), NATS: String(a.config.transporter) },
    stdio: "inherit",
  });
  try {
    // the REPL: a node without services that joins over NATS, then is closed
    const repl = new ServiceBroker({ ...brokerOptions(testConfig({ TRANSPORTER: "nats", SERVICES: "none", STREAM_PREFIX: a.config.streamPrefix })), nodeID: "dash-repl", logger: false });
    await repl.start();
    await eventually(async () => listed("dash-repl")?.available, 15_000, "the REPL node listed");
    await repl.stop();
    await eventually(async () => !listed("dash-repl"), 5_000, "the REPL node off the list");
    // never shown as unavailable on its way out
    expect(snapshots.flatMap((x) => x.nodes).filter((n) => n.id === "dash-repl" && !n.available)).toEqual([]);

    // a node killed: no goodbye, its heartbeats stop
    await eventually(async () => listed("dash-gone")?.available, 15_000, "the other node listed");
    child.kill("SIGKILL");
    const killed = Date.now();
    const gone = await eventually(async () => (listed("dash-gone")?.available === false ? listed("dash-gone") : null), 15_000, "the killed node unavailable");
    const until = Date.parse(gone!.listed_until!);
    expect(until).toBeGreaterThan(killed + listedMs);
    expect(until).toBeLessThanOrEqual(Date.now() + listedMs);
    await eventually(async () => !listed("dash-gone"), listedMs + 5_000, "the killed node dropped");
    expect(Date.parse(snapshots.at(-1)!.at)).toBeGreaterThanOrEqual(until);
  } finally {
    child.kill("SIGKILL");
    off();
  }
});
