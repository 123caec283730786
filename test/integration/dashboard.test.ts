/**
 * The operator's dashboard on a real stack: the page, the token exchange for a session
 * cookie, and the live stream's content while orders arrive.
 */
import { jest } from "@jest/globals";
import { startStack, eventually, ADMIN_TOKEN, type Stack } from "../support/stack.ts";
import { openSse, type SseStream } from "../support/sse.ts";
import { dashboardSession, DASHBOARD_SESSION_SECONDS } from "../../src/ops/dashboard-session.ts";
import type { DashboardSnapshot } from "../../src/ops/dashboard-view.ts";
import { FRESH_MS } from "../../src/ops/dashboard-feed.ts";
import { lifecycleOf } from "../../src/lib/lifecycle.ts";

jest.setTimeout(60_000);

let stack: Stack;
const streams: SseStream[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const s of streams) s.close();
  await stack?.stop();
});

const exchange = (headers: Record<string, string>) => stack.http("POST", "/api/admin/dashboard/session", undefined, headers);
const cookieOf = (setCookie: string | null) => setCookie!.split(";")[0];
const events = async (cookie?: string) => {
  const s = await openSse(stack.baseUrl + "/api/admin/dashboard/events", cookie ? { cookie } : {});
  streams.push(s);
  return s;
};
const snapshot = (check: (s: DashboardSnapshot) => boolean) => (e: { event: string; data: string }) => {
  if (e.event !== "snapshot") return null;
  const s = JSON.parse(e.data) as DashboardSnapshot;
  return check(s) ? s : null;
};

test("GET /dashboard serves the page and its assets, with a policy that allows only its own script", async () => {
  const page = await fetch(stack.baseUrl + "/dashboard");
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  const html = await page.text();
  expect(html).toContain('src="/dashboard/app.js"');
  expect((await fetch(stack.baseUrl + "/dashboard/app.js")).headers.get("content-type")).toMatch(/^text\/javascript/);
  expect((await fetch(stack.baseUrl + "/dashboard/app.css")).status).toBe(200);
});

test("the admin token is traded for a short-lived HttpOnly, SameSite=Strict cookie scoped to the dashboard's API", async () => {
  for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: ADMIN_TOKEN }] as Array<Record<string, string>>) {
    const r = await exchange(headers);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHORIZED");
    expect(r.headers.get("set-cookie")).toBeNull();
  }
  const ok = await exchange({ authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(ok.status).toBe(200);
  const expires = Date.parse(ok.body.expires_at);
  expect(expires - Date.now()).toBeGreaterThan(DASHBOARD_SESSION_SECONDS * 1000 - 60_000);
  expect(expires - Date.now()).toBeLessThanOrEqual(DASHBOARD_SESSION_SECONDS * 1000);
  const setCookie = ok.headers.get("set-cookie")!;
  expect(setCookie).toMatch(/^flash_dashboard=\d+\.[\w-]+; /);
  expect(setCookie).toContain("HttpOnly");
  expect(setCookie).toContain("SameSite=Strict");
  expect(setCookie).toContain("Path=/api/admin/dashboard");
  expect(setCookie).toContain(`Max-Age=${DASHBOARD_SESSION_SECONDS}`);
  expect(setCookie).not.toContain(ADMIN_TOKEN);

  // signing out makes the browser drop it (the same admin auth)
  expect((await stack.http("DELETE", "/api/admin/dashboard/session")).status).toBe(401);
  const out = await stack.http("DELETE", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(out.status).toBe(204);
  expect(out.headers.get("set-cookie")).toMatch(/^flash_dashboard=; Path=\/api\/admin\/dashboard; Max-Age=0; HttpOnly; SameSite=Strict$/);
});

test("the stream refuses a missing, forged, expired, over-long or malformed cookie with the 401 envelope", async () => {
  const now = Date.now();
  const ours = dashboardSession(ADMIN_TOKEN, false);
  const valid = cookieOf(ours.issue(now).setCookie);
  const [, expiry, sig] = /^flash_dashboard=(\d+)\.(.+)$/.exec(valid)!;
  const other = dashboardSession("another-token", false);
  const refused = [
    undefined,
    `flash_dashboard=${expiry}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`, // signature altered
    `flash_dashboard=${Number(expiry) + 1000}.${sig}`, // expiry extended, old signature
    cookieOf(other.issue(now).setCookie), // signed with a key from another token
    cookieOf(ours.issue(now - DASHBOARD_SESSION_SECONDS * 1000 - 1000).setCookie), // expired a second ago
    cookieOf(dashboardSessionFar(now)), // well signed, but lasting longer than any session we issue
    "flash_dashboard=garbage",
    `flash_dashboard=${ADMIN_TOKEN}`,
  ];
  for (const cookie of refused) {
    const s = await events(cookie);
    expect({ cookie, status: s.status }).toEqual({ cookie, status: 401 });
    expect(JSON.parse(s.text).error.code).toBe("UNAUTHORIZED");
  }
  // and the Bearer token alone does not open the stream (it is for the exchange only)
  const bearer = await openSse(stack.baseUrl + "/api/admin/dashboard/events", { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(bearer.status).toBe(401);
  // the valid one does
  const s = await events(valid);
  expect(s.status).toBe(200);
  expect(s.headers.get("content-type")).toMatch(/^text\/event-stream/);
  s.close();
});

/** A cookie signed with our key whose expiry is a day away (no session lasts that long). */
function dashboardSessionFar(now: number): string {
  return dashboardSession(ADMIN_TOKEN, false).issue(now + 24 * 3600 * 1000 - DASHBOARD_SESSION_SECONDS * 1000).setCookie;
}

test("the stream shows answers by code, the products' shards, the pipeline, the audit and the node while orders arrive", async () => {
  const p = await stack.createProduct({ name: "Dashboard console", stock: 6, max_per_order: 2 });
  const ok = await exchange({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const s = await events(cookieOf(ok.headers.get("set-cookie")));
  await s.next(snapshot((x) => x.products.some((q) => q.id === p.id)), 10_000, "the product on the dashboard");

  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: `dash-${i}` })));
  expect(replies.filter((r) => r.status === 202)).toHaveLength(6);
  const bad = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 0, user_id: "dash-bad" });
  expect(bad.status).toBe(422);

  const seen = await s.next(snapshot((x) => {
    const product = x.products.find((q) => q.id === p.id);
    return x.requests.totals["202"] === 6 && x.requests.totals["409 SOLD_OUT"] === 4 && x.requests.totals["422"] === 1 &&
      product?.available === 0 && product.reserved === 6 && x.pipeline?.orders_by_status.pending === 6 &&
      x.pipeline.stream_lag === 0 && x.audit !== null;
  }), 20_000, "the sale on the dashboard");
  const product = seen.products.find((q) => q.id === p.id)!;
  expect(product).toMatchObject({ name: "Dashboard console", stock_total: 6, sold: 0, loaded: true });
  // the history starts before the sale: all 6 were available once, none at the end
  expect(product.history.available[0]).toBe(6);
  expect(product.history.available.at(-1)).toBe(0);
  expect(seen.pipeline!.dead_letters).toBe(0);
  expect(seen.audit!.ok).toBe(true);
  expect(seen.latency_ms.window_seconds).toBeGreaterThan(0);
  expect(seen.nodes).toContainEqual(expect.objectContaining({
    id: stack.broker.nodeID, available: true, local: true,
    services: ["gateway", "inventory", "lifecycle", "orders", "payments", "sweeper"],
  }));
  expect(seen.requests.by_node).toEqual([expect.objectContaining({ node_id: stack.broker.nodeID, total: 11 })]);
  // the sale's answers showed up as a rate in some snapshot, with latency quantiles
  await s.next(snapshot((x) => (x.requests.per_second["202"] ?? 0) > 0 && x.latency_ms.p50 !== null && x.latency_ms.p99! >= x.latency_ms.p50!),
    1000, "a rate of 202s");
  s.close();
});

test("a product sold through a line shows its line: waiting, admitted and unused, used, no-shows, left, entries per second, the pace and the pause", async () => {
  const open = await stack.createProduct({ name: "Sold open", stock: 2 });
  const p = await stack.createProduct({
    name: "Dashboard queue", stock: 3, per_user_limit: 1, max_per_order: 1, access: "queue", entry_ttl_seconds: 10,
    sale_starts_at: new Date(Date.now() + 2500).toISOString(),
  });
  const tickets: Array<{ ticket_id: string; user_id: string }> = [];
  for (const user of ["q-a", "q-b", "q-c", "q-d", "q-e"]) {
    const joined = await stack.http("POST", `/api/products/${p.id}/queue`, { user_id: user });
    expect(joined.status).toBe(201);
    tickets.push(joined.body);
  }
  expect((await stack.http("DELETE", `/api/products/${p.id}/queue/${tickets[4].ticket_id}`)).body.status).toBe("left");
  const s = await events(cookieOf((await exchange({ authorization: `Bearer ${ADMIN_TOKEN}` })).headers.get("set-cookie")));
  const lineOf = (x: DashboardSnapshot) => x.products.find((q) => q.id === p.id)?.line;

  // the draw admits three of the four waiting (three units, one each)
  const drawn = await s.next(snapshot((x) => lineOf(x)?.open_entries === 3), 10_000, "three entries open");
  expect(lineOf(drawn)).toEqual({
    access: "queue", joined: 5, waiting: 1, admitted: 3, open_entries: 3, used: 0, expired: 0, left: 1,
    admitted_per_second: expect.any(Number), paused: false, admit_per_second: null,
  });
  expect(lineOf(drawn)!.admitted_per_second).toBeGreaterThan(0);
  // a product sold open has no line
  expect(drawn.products.find((q) => q.id === open.id)).toMatchObject({ line: null });

  // two order with their entries; the third never does
  const read = await Promise.all(tickets.slice(0, 4).map((t) => stack.http("GET", `/api/products/${p.id}/queue/${t.ticket_id}`)));
  const admitted = read.map((r) => r.body).filter((t) => t.status === "admitted");
  expect(admitted).toHaveLength(3);
  for (const t of admitted.slice(0, 2)) {
    const order = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: t.user_id }, { "entry-token": t.entry_token });
    expect(order.status).toBe(202);
  }
  await s.next(snapshot((x) => lineOf(x)?.used === 2 && lineOf(x)?.open_entries === 1), 10_000, "two entries used");

  // paused at a pace of 5 a second: the no-show's unit goes back, and the one waiting stays so
  const patched = await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { paused: true, admit_per_second: 5 }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(patched.status).toBe(200);
  const paused = await s.next(snapshot((x) => lineOf(x)?.expired === 1 && lineOf(x)?.paused === true), 20_000, "a no-show while paused");
  expect(lineOf(paused)).toMatchObject({ waiting: 1, admitted: 3, open_entries: 0, used: 2, expired: 1, left: 1, admit_per_second: 5 });
  expect(paused.products.find((q) => q.id === p.id)).toMatchObject({ available: 1, reserved: 2 });

  // going on: the one waiting is admitted with the unit the no-show gave back
  await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { paused: false }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  const resumed = await s.next(snapshot((x) => lineOf(x)?.admitted === 4), 10_000, "the last one admitted");
  expect(lineOf(resumed)).toMatchObject({ paused: false, waiting: 0, open_entries: 1, used: 2, expired: 1, left: 1, admit_per_second: 5 });
  s.close();
}, 60_000);

test("a new viewer's first snapshot is fresh, however long ago the last viewer left", async () => {
  const cookie = cookieOf((await exchange({ authorization: `Bearer ${ADMIN_TOKEN}` })).headers.get("set-cookie"));
  const before = await events(cookie);
  await before.next(snapshot(() => true), 10_000, "a snapshot");
  before.close();
  // nobody watches for a while (the time passing is the point: there is no event to await)
  await new Promise((r) => setTimeout(r, 2 * FRESH_MS));
  const opened = Date.now();
  const after = await events(cookie);
  const first = await after.next(snapshot(() => true), 10_000, "the first snapshot");
  expect(Date.parse(first.at)).toBeGreaterThanOrEqual(opened - FRESH_MS);
  after.close();
});

test("GET /metrics exports the order answers by status and code, and their duration buckets", async () => {
  const scrape = async () => {
    const text = (await stack.http("GET", "/metrics")).body as string;
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    return {
      accepted: value(/flash_order_answers_total\{[^}]*status="202"[^}]*code="none"[^}]*\} (\d+)/),
      soldOut: value(/flash_order_answers_total\{[^}]*status="409"[^}]*code="SOLD_OUT"[^}]*\} (\d+)/),
      timed: value(/flash_order_duration_ms_bucket\{[^}]*le="\+Inf"[^}]*\} (\d+)/),
    };
  };
  const p = await stack.createProduct({ stock: 1 });
  const before = await scrape();
  for (const user of ["m-1", "m-2", "m-3"]) await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: user });
  const after = await scrape();
  expect({ accepted: after.accepted - before.accepted, soldOut: after.soldOut - before.soldOut, timed: after.timed - before.timed })
    .toEqual({ accepted: 1, soldOut: 2, timed: 3 });
});

test("a node's graceful shutdown ends the open dashboard streams instead of waiting on them", async () => {
  const node = await startStack({ SHUTDOWN_DRAIN_MS: "0" });
  try {
    const session = await node.http("POST", "/api/admin/dashboard/session", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const s = await openSse(node.baseUrl + "/api/admin/dashboard/events", { cookie: cookieOf(session.headers.get("set-cookie")) });
    streams.push(s);
    await s.next(snapshot(() => true), 10_000, "a first snapshot");
    await lifecycleOf(node.broker).shutdown("test");
    await expect(s.next(() => false, 5_000, "the end")).rejects.toThrow(/the stream ended/);
  } finally {
    await node.stop();
  }
});
