/**
 * API.md's bad-input matrix: anything a client can send gets a 4xx with the error
 * envelope, never a 500, and changes nothing (stock unchanged, no order row).
 */
import { request } from "node:http";
import { connect } from "node:net";
import { startStack, type Stack, ADMIN_TOKEN, WEBHOOK_SECRET } from "../support/stack.ts";
import { expectEnvelope } from "../support/envelope.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten } from "../support/orders.ts";
import { eventId, sendWebhook } from "../support/webhooks.ts";
import { MAX_JSON_DEPTH } from "../../src/lib/params.ts";
import { signWebhook } from "../../src/domain/webhook-signature.ts";

let stack: Stack;
let productId: number;

beforeAll(async () => {
  stack = await startStack();
  await listenForEvents(stack.broker);
  productId = (await stack.createProduct({ stock: 50, per_user_limit: 5, max_per_order: 5 })).id;
});
afterAll(async () => {
  await stack?.stop();
});

async function unchanged() {
  const p = await stack.http("GET", `/api/products/${productId}`);
  expect(p.body.stock_available).toBe(50);
  const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [productId]);
  expect(rows[0].n).toBe(0);
}

const raw = (body: string, headers: Record<string, string> = {}) =>
  stack.http("POST", "/api/orders", body, { "content-type": "application/json", ...headers });

describe("POST /api/orders refuses, with the envelope and no change", () => {
  afterEach(unchanged);

  test.each([
    ["malformed JSON", "{\"product_id\": 1, \"qty\": "],
    ["a bare string", "\"hello\""],
    ["null", "null"],
  ])("%s → 400 BAD_REQUEST", async (_name, body) => {
    expectEnvelope(await raw(body), 400, "BAD_REQUEST");
  });

  test("an empty body → 400 BAD_REQUEST", async () => {
    expectEnvelope(await raw(""), 400, "BAD_REQUEST");
  });

  test.each([
    ["text/plain", { "content-type": "text/plain" }],
    ["form-encoded", { "content-type": "application/x-www-form-urlencoded" }],
    ["JSON in Latin-1", { "content-type": "application/json; charset=iso-8859-1" }],
    ["gzip-encoded", { "content-encoding": "gzip" }],
  ])("a %s body → 415 with BAD_REQUEST", async (_name, headers) => {
    expectEnvelope(await raw(JSON.stringify({ product_id: productId, qty: 1, user_id: "u" }), headers), 415, "BAD_REQUEST");
  });

  test("a body over 16 KiB sent chunked, without Content-Length → 413 with BAD_REQUEST", async () => {
    const pad = "x".repeat(1024);
    const chunks = [`{"product_id":${productId},"qty":1,"user_id":"u","pad":"`, ...Array.from({ length: 20 }, () => pad), `"}`];
    const r = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${stack.baseUrl}/api/orders`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on("error", reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
    expectEnvelope(r, 413, "BAD_REQUEST");
  });

  test("a body over 16 KiB → 413 with BAD_REQUEST", async () => {
    const body = JSON.stringify({ product_id: productId, qty: 1, user_id: "u", pad: "x".repeat(17 * 1024) });
    expectEnvelope(await raw(body), 413, "BAD_REQUEST");
  });

  const v = (name: string, body: Record<string, unknown> | unknown[]) => [name, body] as const;
  test.each([
    v("missing qty", { product_id: 0, user_id: "u" }),
    v("missing product_id", { qty: 1, user_id: "u" }),
    v("zero qty", { product_id: -1, qty: 0, user_id: "u" }),
    v("negative qty", { product_id: 1, qty: -2, user_id: "u" }),
    v("fractional qty", { product_id: 1, qty: 1.5, user_id: "u" }),
    v("huge qty", { product_id: 1, qty: 1e300, user_id: "u" }),
    v("qty beyond 2^53", { product_id: 1, qty: 9007199254740993, user_id: "u" }),
    v("string qty", { product_id: 1, qty: "1", user_id: "u" }),
    v("boolean qty", { product_id: 1, qty: true, user_id: "u" }),
    v("array qty", { product_id: 1, qty: [1], user_id: "u" }),
    v("object qty", { product_id: 1, qty: { n: 1 }, user_id: "u" }),
    v("zero product_id", { product_id: 0, qty: 1, user_id: "u" }),
    v("negative product_id", { product_id: -5, qty: 1, user_id: "u" }),
    v("fractional product_id", { product_id: 1.2, qty: 1, user_id: "u" }),
    v("huge product_id", { product_id: 2 ** 40, qty: 1, user_id: "u" }),
    v("string product_id", { product_id: "1", qty: 1, user_id: "u" }),
    v("empty user_id", { product_id: 1, qty: 1, user_id: "" }),
    v("over-long user_id", { product_id: 1, qty: 1, user_id: "u".repeat(65) }),
    v("numeric user_id", { product_id: 1, qty: 1, user_id: 42 }),
    v("unknown field", { product_id: 1, qty: 1, user_id: "u", coupon: "FREE" }),
    v("an array body", [{ product_id: 1, qty: 1, user_id: "u" }]),
  ])("%s → 422 VALIDATION_ERROR with the fields named", async (_name, body) => {
    const fixed = Array.isArray(body) ? body : { ...body, product_id: (body as { product_id?: unknown }).product_id === 1 ? productId : body.product_id };
    const r = await stack.http("POST", "/api/orders", fixed);
    expectEnvelope(r, 422, "VALIDATION_ERROR");
    expect(Object.keys(r.body.error.details.fields).length).toBeGreaterThan(0);
  });

  test("qty above the product's max_per_order → 422", async () => {
    expectEnvelope(await stack.http("POST", "/api/orders", { product_id: productId, qty: 6, user_id: "u" }), 422, "VALIDATION_ERROR");
  });

  test("an unknown product → 404 PRODUCT_NOT_FOUND", async () => {
    expectEnvelope(await stack.http("POST", "/api/orders", { product_id: 2_000_000_000, qty: 1, user_id: "u" }), 404, "PRODUCT_NOT_FOUND");
  });
});

describe("cancel and live updates refuse, with the envelope and no change", () => {
  afterEach(unchanged);
  const unknownOrder = "00000000-0000-4000-8000-000000000000";

  test.each([
    ["POST", "/api/orders/not-a-uuid/cancel", 422, "VALIDATION_ERROR"],
    ["POST", "/api/orders/1/cancel", 422, "VALIDATION_ERROR"],
    ["POST", `/api/orders/${unknownOrder}/cancel`, 404, "ORDER_NOT_FOUND"],
    ["GET", `/api/orders/${unknownOrder}/cancel`, 404, "NOT_FOUND"],
    ["DELETE", `/api/orders/${unknownOrder}/cancel`, 404, "NOT_FOUND"],
    ["GET", "/api/orders/not-a-uuid/events", 422, "VALIDATION_ERROR"],
    ["GET", `/api/orders/${unknownOrder}/events`, 404, "ORDER_NOT_FOUND"],
    ["POST", `/api/orders/${unknownOrder}/events`, 404, "NOT_FOUND"],
    ["GET", "/api/products/abc/events", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/0/events", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/1.5/events", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/99999999999999999999/events", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/2000000000/events", 404, "PRODUCT_NOT_FOUND"],
  ])("%s %s → %d %s", async (method, path, status, code) => {
    expectEnvelope(await stack.http(method, path), status, code);
  });

  test("a cancel with a body, malformed or not, is judged by its path alone", async () => {
    expectEnvelope(await stack.http("POST", "/api/orders/not-a-uuid/cancel", "{not json"), 422, "VALIDATION_ERROR");
    expectEnvelope(await stack.http("POST", "/api/orders/00000000-0000-4000-8000-000000000000/cancel", { status: "paid" }), 404, "ORDER_NOT_FOUND");
  });
});

describe("a product's line refuses, with the envelope and no change", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const ticket = "AAAAAAAAAAAAAAAAAAAAAA";
  afterEach(unchanged);

  test.each([
    ["POST", "/api/products/{p}/queue", "{\"user_id\": ", {}, 400, "BAD_REQUEST"],
    ["POST", "/api/products/{p}/queue", "[]", {}, 422, "VALIDATION_ERROR"],
    ["POST", "/api/products/{p}/queue", { user_id: "u\u0000" }, {}, 422, "VALIDATION_ERROR"],
    ["POST", "/api/products/{p}/queue", { user_id: "u", challenge: "x".repeat(3000) }, {}, 422, "VALIDATION_ERROR"],
    ["POST", "/api/products/{p}/queue", { user_id: "u", extra: 1 }, {}, 422, "VALIDATION_ERROR"],
    ["POST", "/api/products/{p}/queue", "user_id=u", { "content-type": "text/plain" }, 415, "BAD_REQUEST"],
    ["POST", "/api/products/{p}/queue", { user_id: "u", pad: "x".repeat(17 * 1024) }, {}, 413, "BAD_REQUEST"],
    ["POST", "/api/products/2000000000/queue", { user_id: "u" }, {}, 404, "PRODUCT_NOT_FOUND"],
    ["GET", "/api/products/2000000000/queue/challenge", undefined, {}, 404, "PRODUCT_NOT_FOUND"],
    ["GET", "/api/products/{p}/queue/challenge", undefined, {}, 404, "NOT_FOUND"],
    ["POST", "/api/products/{p}/queue/challenge", undefined, {}, 404, "NOT_FOUND"],
    ["PUT", "/api/products/{p}/queue", { user_id: "u" }, {}, 404, "NOT_FOUND"],
    ["DELETE", "/api/products/{p}/queue", undefined, {}, 404, "NOT_FOUND"],
    ["POST", `/api/products/{p}/queue/${ticket}`, undefined, {}, 404, "NOT_FOUND"],
    ["GET", "/api/products/{p}/queue/challenge/events", undefined, {}, 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/{p}/queue/not-a-ticket", undefined, {}, 422, "VALIDATION_ERROR"],
    ["DELETE", `/api/products/{p}/queue/${"x".repeat(65)}`, undefined, {}, 422, "VALIDATION_ERROR"],
    ["GET", `/api/products/{p}/queue/${ticket}%00/events`, undefined, {}, 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/{p}/queue/%ED%A0%80AAAAAAAAAAAAAAAAAA", undefined, {}, 400, "BAD_REQUEST"],
    ["PATCH", "/api/admin/products/{p}/queue", { paused: true }, { authorization: "Bearer wrong" }, 401, "UNAUTHORIZED"],
    ["PATCH", "/api/admin/products/{p}/queue", { admit_per_second: 0 }, auth, 422, "VALIDATION_ERROR"],
    ["PATCH", "/api/admin/products/{p}/queue", { admit_per_second: 1e300 }, auth, 422, "VALIDATION_ERROR"],
    ["PATCH", "/api/admin/products/{p}/queue", { paused: 1 }, auth, 422, "VALIDATION_ERROR"],
    ["PATCH", "/api/admin/products/{p}/queue", { paused: true, seed: "00" }, auth, 422, "VALIDATION_ERROR"],
    ["PATCH", "/api/admin/products/2000000000/queue", { paused: true }, auth, 404, "PRODUCT_NOT_FOUND"],
  ] as Array<[string, string, unknown, Record<string, string>, number, string]>)("%s %s %j %j → %d %s", async (method, path, body, headers, status, code) => {
    const r = await stack.http(method, path.replace("{p}", String(productId)), body, typeof body === "string" ? { "content-type": "application/json", ...headers } : headers);
    expectEnvelope(r, status, code);
  });

  test.each([
    ["garbage", "not.a.token"],
    ["an empty value", ""],
    ["a token far too large", "e".repeat(4000)],
    ["the admin token", ADMIN_TOKEN],
  ])("POST /api/orders with %s as Entry-Token → 403 ENTRY_INVALID", async (_name, token) => {
    expectEnvelope(await stack.http("POST", "/api/orders", { product_id: productId, qty: 1, user_id: "u" }, { "entry-token": token }), 403, "ENTRY_INVALID");
  });
});

describe("other paths", () => {
  test.each([
    ["GET", "/api/products/abc", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/1.5", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/0", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/99999999999999999999", 422, "VALIDATION_ERROR"],
    ["GET", "/api/products/2000000000", 404, "PRODUCT_NOT_FOUND"],
    ["GET", "/api/orders/not-a-uuid", 422, "VALIDATION_ERROR"],
    ["GET", "/api/orders/%ED%A0%80", 400, "BAD_REQUEST"],
    ["GET", "/api/products/%", 400, "BAD_REQUEST"],
    ["POST", "/api/openapi.json", 404, "NOT_FOUND"],
    ["POST", "/docs", 404, "NOT_FOUND"],
    ["GET", "/docs/assets/%2e%2e%2fpackage.json", 404, "NOT_FOUND"],
    ["GET", "/docs/assets/index.html", 404, "NOT_FOUND"],
    ["GET", `/docs/assets/${"x".repeat(2000)}`, 404, "NOT_FOUND"],
    ["GET", "/api/orders/00000000-0000-4000-8000-000000000000", 404, "ORDER_NOT_FOUND"],
    ["GET", "/api/nothing-here", 404, "NOT_FOUND"],
    ["GET", "/nothing", 404, "NOT_FOUND"],
    ["DELETE", "/api/orders", 404, "NOT_FOUND"],
  ])("%s %s → %d %s", async (method, path, status, code) => {
    expectEnvelope(await stack.http(method, path), status, code);
  });

  test("admin endpoints without the token, or with a wrong one, are 401 UNAUTHORIZED and create nothing", async () => {
    const before = (await stack.db.query("select count(*)::int as n from products")).rows[0].n;
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: ADMIN_TOKEN }] as Array<Record<string, string>>) {
      const r = await stack.http("POST", "/api/admin/products", { name: "x", price_cents: 1, stock: 1 }, headers);
      expectEnvelope(r, 401, "UNAUTHORIZED");
    }
    expectEnvelope(await stack.http("GET", "/api/admin/audit"), 401, "UNAUTHORIZED");
    expect((await stack.db.query("select count(*)::int as n from products")).rows[0].n).toBe(before);
  });

  test.each([
    ["negative stock", { name: "x", price_cents: 1, stock: -1 }],
    ["fractional price", { name: "x", price_cents: 1.5, stock: 1 }],
    ["missing name", { price_cents: 1, stock: 1 }],
    ["zero per_user_limit", { name: "x", price_cents: 1, stock: 1, per_user_limit: 0 }],
    ["a date that is not one", { name: "x", price_cents: 1, stock: 1, sale_starts_at: "tomorrow-ish" }],
  ])("admin create product with %s → 422", async (_n, body) => {
    const r = await stack.http("POST", "/api/admin/products", body, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expectEnvelope(r, 422, "VALIDATION_ERROR");
  });

  test.each([
    ["year 0", { sale_starts_at: "0000-01-01T00:00:00Z" }, "sale_starts_at"],
    ["a negative year", { sale_starts_at: "-000001-01-01T00:00:00Z" }, "sale_starts_at"],
    ["a six-digit year", { sale_ends_at: "+010000-01-01T00:00:00Z" }, "sale_ends_at"],
    ["February 30th", { sale_starts_at: "2026-02-30T00:00:00Z" }, "sale_starts_at"],
    ["true", { sale_starts_at: true }, "sale_starts_at"],
    ["a number", { sale_ends_at: 1700000000 }, "sale_ends_at"],
    ["Date's own text", { sale_starts_at: "Sat Dec 06 2026" }, "sale_starts_at"],
    ["a date without time", { sale_starts_at: "2026-12-24" }, "sale_starts_at"],
    ["a window ending before it starts", { sale_starts_at: "2026-12-24T18:00:00Z", sale_ends_at: "2026-12-24T17:00:00Z" }, "sale_ends_at"],
    ["a window ending as it starts", { sale_starts_at: "2026-12-24T18:00:00Z", sale_ends_at: "2026-12-24T19:00:00+01:00" }, "sale_ends_at"],
  ])("admin create product with %s as a timestamp → 422 VALIDATION_ERROR naming the field, nothing written", async (_n, window, field) => {
    const before = (await stack.db.query("select count(*)::int as n from products")).rows[0].n;
    const r = await stack.http("POST", "/api/admin/products", { name: "x", price_cents: 1, stock: 1, ...window }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expectEnvelope(r, 422, "VALIDATION_ERROR");
    expect(Object.keys(r.body.error.details.fields)).toEqual([field]);
    expect((await stack.db.query("select count(*)::int as n from products")).rows[0].n).toBe(before);
  });

  test("admin timestamps with an offset are stored as the instant they name", async () => {
    const r = await stack.http("POST", "/api/admin/products", { name: "x", price_cents: 1, stock: 1, sale_starts_at: "2026-12-24T19:00:00.250+01:00", sale_ends_at: "2026-12-24T18:00:01Z" }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ sale_starts_at: "2026-12-24T18:00:00.250Z", sale_ends_at: "2026-12-24T18:00:01.000Z" });
    const { rows } = await stack.db.query("select sale_starts_at, sale_ends_at from products where id = $1", [r.body.id]);
    expect(rows[0].sale_starts_at.toISOString()).toBe("2026-12-24T18:00:00.250Z");
    expect(rows[0].sale_ends_at.toISOString()).toBe("2026-12-24T18:00:01.000Z");
  });

  test("restock with a bad amount → 422, of an unknown product → 404", async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expectEnvelope(await stack.http("POST", `/api/admin/products/${productId}/restock`, { add: 0 }, auth), 422, "VALIDATION_ERROR");
    expectEnvelope(await stack.http("POST", `/api/admin/products/${productId}/restock`, { add: "5" }, auth), 422, "VALIDATION_ERROR");
    expectEnvelope(await stack.http("POST", `/api/admin/products/2000000000/restock`, { add: 5 }, auth), 404, "PRODUCT_NOT_FOUND");
    await unchanged();
  });
});

describe("bodies nested past the bound are 400 BAD_REQUEST on every JSON route, never a 500", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  /** ~8 KB of arrays in arrays, the body that overflowed the stack */
  const deepArrays = "[".repeat(4000) + "]".repeat(4000);
  /** the same depth as objects, inside a body that is otherwise plausible */
  const deepInField = (fields: string) => `{${fields},"x":${'{"a":'.repeat(1500)}1${"}".repeat(1500)}}`;
  const shallow = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  let orderId: string;
  beforeAll(async () => {
    const p = await stack.createProduct({ stock: 5, price_cents: 100 });
    orderId = (await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "nested" })).body.order_id;
  });
  afterEach(unchanged);

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    stack.http("POST", path, body, { "content-type": "application/json", ...headers });
  const patch = (path: string, body: string) => stack.http("PATCH", path, body, { "content-type": "application/json", ...auth });
  const webhook = (body: string) => post("/api/payments/webhook", body, { "x-signature": signWebhook(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)) });

  test.each([
    ["POST /api/orders", () => post("/api/orders", deepArrays), () => post("/api/orders", deepInField(`"product_id":${productId},"qty":1,"user_id":"u"`))],
    ["POST /api/admin/products", () => post("/api/admin/products", deepArrays, auth), () => post("/api/admin/products", deepInField(`"name":"n","price_cents":1,"stock":1`), auth)],
    ["POST /api/admin/products/:id/restock", () => post(`/api/admin/products/${productId}/restock`, deepArrays, auth), () => post(`/api/admin/products/${productId}/restock`, deepInField(`"add":1`), auth)],
    ["signed POST /api/payments/webhook", () => webhook(deepArrays), () => webhook(deepInField(`"event_id":"evt_deep","order_id":"${orderId}","status":"succeeded","amount_cents":100`))],
    ["POST /api/products/:id/queue", () => post(`/api/products/${productId}/queue`, deepArrays), () => post(`/api/products/${productId}/queue`, deepInField(`"user_id":"u"`))],
    ["PATCH /api/admin/products/:id/queue", () => patch(`/api/admin/products/${productId}/queue`, deepArrays), () => patch(`/api/admin/products/${productId}/queue`, deepInField(`"paused":true`))],
  ])("%s", async (_route, arrays, inField) => {
    for (const r of [await arrays(), await inField()]) {
      expectEnvelope(r, 400, "BAD_REQUEST");
      expect(r.body.error.message).toMatch(/nested/);
    }
  });

  test("nesting within the bound is judged by the fields, as any body", async () => {
    expectEnvelope(await post("/api/orders", shallow(MAX_JSON_DEPTH)), 422, "VALIDATION_ERROR");
    expectEnvelope(await post("/api/orders", shallow(MAX_JSON_DEPTH + 1)), 400, "BAD_REQUEST");
  });

  test("brackets inside strings are text, not nesting", async () => {
    const r = await post("/api/orders", JSON.stringify({ product_id: productId, qty: 1, user_id: "u", x: "[{".repeat(3000) + "\\\"" }));
    expectEnvelope(r, 422, "VALIDATION_ERROR");
  });
});

describe("a product id in a path is decimal digits, else 422 (not read as hex, exponent or padded)", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  afterEach(unchanged);

  test.each(["0x1", "0x10", "1e0", "0b1", "0o1", "%201", "1%20", "+1", "1.0", "-0", "%EF%BC%91"])("%s", async (id) => {
    for (const [method, path, body] of [
      ["GET", `/api/products/${id}`, undefined],
      ["GET", `/api/products/${id}/events`, undefined],
      ["GET", `/api/products/${id}/queue`, undefined],
      ["GET", `/api/products/${id}/queue/challenge`, undefined],
      ["POST", `/api/products/${id}/queue`, { user_id: "u" }],
      ["GET", `/api/products/${id}/queue/AAAAAAAAAAAAAAAAAAAAAA`, undefined],
      ["DELETE", `/api/products/${id}/queue/AAAAAAAAAAAAAAAAAAAAAA`, undefined],
      ["GET", `/api/products/${id}/queue/AAAAAAAAAAAAAAAAAAAAAA/events`, undefined],
      ["PATCH", `/api/admin/products/${id}/queue`, { paused: true }],
      ["POST", `/api/admin/products/${id}/restock`, { add: 1 }],
    ] as const) {
      const r = await stack.http(method, path, body, auth);
      expectEnvelope(r, 422, "VALIDATION_ERROR");
      expect(Object.keys(r.body.error.details.fields)).toEqual(["id"]);
    }
  });

  test("leading zeros are still decimal: /api/products/0<id> is the product", async () => {
    const r = await stack.http("GET", `/api/products/0${productId}`);
    expect({ status: r.status, id: r.body.id }).toEqual({ status: 200, id: productId });
  });
});

describe("every JSON route takes application/json (an optional charset), else 415 with BAD_REQUEST", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  /** a body sent as bytes, so that fetch adds no Content-Type of its own */
  const send = (path: string, json: unknown, headers: Record<string, string>) =>
    fetch(stack.baseUrl + path, { method: "POST", body: new Uint8Array(Buffer.from(JSON.stringify(json))), headers })
      .then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const productCount = async () => (await stack.db.query("select count(*)::int as n from products")).rows[0].n;

  const refused: Array<[string, Record<string, string>]> = [
    ["no Content-Type", {}],
    ["text/plain", { "content-type": "text/plain" }],
    ["a +json type", { "content-type": "application/vnd.api+json" }],
    ["form-encoded", { "content-type": "application/x-www-form-urlencoded" }],
  ];

  describe.each(refused)("%s", (_name, type) => {
    afterEach(unchanged);

    test("POST /api/orders", async () => {
      expectEnvelope(await send("/api/orders", { product_id: productId, qty: 1, user_id: "u" }, type), 415, "BAD_REQUEST");
    });

    test("admin create and restock", async () => {
      const before = await productCount();
      expectEnvelope(await send("/api/admin/products", { name: "x", price_cents: 1, stock: 1 }, { ...type, ...auth }), 415, "BAD_REQUEST");
      expectEnvelope(await send(`/api/admin/products/${productId}/restock`, { add: 1 }, { ...type, ...auth }), 415, "BAD_REQUEST");
      expect(await productCount()).toBe(before);
    });

    test("the signed webhook", async () => {
      const body = { event_id: eventId(), order_id: "00000000-0000-4000-8000-000000000000", status: "succeeded", amount_cents: 1 };
      const signature = signWebhook(WEBHOOK_SECRET, JSON.stringify(body), Math.floor(Date.now() / 1000));
      expectEnvelope(await send("/api/payments/webhook", body, { ...type, "x-signature": signature }), 415, "BAD_REQUEST");
    });
  });

  test.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"])("%s is taken on every JSON route", async (type) => {
    const p = await send("/api/admin/products", { name: "typed", price_cents: 1, stock: 2 }, { "content-type": type, ...auth });
    expect(p.status).toBe(201);
    expect((await send(`/api/admin/products/${p.body.id}/restock`, { add: 1 }, { "content-type": type, ...auth })).status).toBe(200);
    expect((await send("/api/orders", { product_id: p.body.id, qty: 1, user_id: "typed" }, { "content-type": type })).status).toBe(202);
    const event = { event_id: eventId(), order_id: "00000000-0000-4000-8000-000000000000", status: "succeeded", amount_cents: 1 };
    const signature = signWebhook(WEBHOOK_SECRET, JSON.stringify(event), Math.floor(Date.now() / 1000));
    expectEnvelope(await send("/api/payments/webhook", event, { "content-type": type, "x-signature": signature }), 404, "ORDER_NOT_FOUND");
  });
});

describe("strings the stores cannot hold are refused at the edge", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const NUL = "\u0000";
  const LONE_SURROGATE = "\ud800";
  /** bytes that are not UTF-8 (a lone continuation byte, an overlong NUL) */
  const NOT_UTF8 = Buffer.from([0x80, 0xc0, 0x80]);
  const bytes = (json: string, bad: Buffer) => {
    const [head, tail] = json.split("@@");
    return Buffer.concat([Buffer.from(head), bad, Buffer.from(tail)]);
  };
  const postBytes = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(stack.baseUrl + path, { method: "POST", body: new Uint8Array(body), headers: { "content-type": "application/json", ...headers } })
      .then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const productCount = async () => (await stack.db.query("select count(*)::int as n from products")).rows[0].n;

  describe("POST /api/orders", () => {
    afterEach(unchanged);

    test.each([
      ["NUL", `u${NUL}1`],
      ["a lone surrogate", `u${LONE_SURROGATE}1`],
      ["a newline", "u\n1"],
      ["a C1 control character", "u\u00851"],
    ])("a user_id holding %s → 422 VALIDATION_ERROR naming user_id, nothing reserved", async (_n, user) => {
      const r = await stack.http("POST", "/api/orders", { product_id: productId, qty: 1, user_id: user }, { "idempotency-key": `bad-${Math.random()}` });
      expectEnvelope(r, 422, "VALIDATION_ERROR");
      expect(Object.keys(r.body.error.details.fields)).toEqual(["user_id"]);
    });

    test("a body that is not UTF-8 → 400 BAD_REQUEST, not decoded into U+FFFD", async () => {
      const r = await postBytes("/api/orders", bytes(`{"product_id":${productId},"qty":1,"user_id":"u@@"}`, NOT_UTF8));
      expectEnvelope(r, 400, "BAD_REQUEST");
      expect(r.body.error.message).toMatch(/UTF-8/);
    });
  });

  test("a user_id of letters beyond ASCII is an id like any other: 202, and it lands as sent", async () => {
    const p = await stack.createProduct({ stock: 5 });
    const user = "Jürgen-名前-😀";
    const r = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: user });
    expect(r.status).toBe(202);
    await rowsWritten(stack, [r.body.order_id]);
    const { rows } = await stack.db.query("select user_id from orders where id = $1", [r.body.order_id]);
    expect(rows).toEqual([{ user_id: user }]);
  });

  test.each([
    ["NUL", `Console${NUL}`],
    ["a lone surrogate", `Console ${LONE_SURROGATE}`],
  ])("an admin product name holding %s → 422 naming name, no product created", async (_n, name) => {
    const before = await productCount();
    const r = await stack.http("POST", "/api/admin/products", { name, price_cents: 1, stock: 1 }, auth);
    expectEnvelope(r, 422, "VALIDATION_ERROR");
    expect(Object.keys(r.body.error.details.fields)).toEqual(["name"]);
    expect(await productCount()).toBe(before);
  });

  test("an admin body that is not UTF-8 → 400 BAD_REQUEST, no product created", async () => {
    const before = await productCount();
    const r = await postBytes("/api/admin/products", bytes(`{"name":"x@@","price_cents":1,"stock":1}`, NOT_UTF8), auth);
    expectEnvelope(r, 400, "BAD_REQUEST");
    expect(await productCount()).toBe(before);
  });

  describe("signed webhooks", () => {
    let orderId: string;
    beforeAll(async () => {
      const p = await stack.createProduct({ stock: 5, price_cents: 100 });
      const r = await stack.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "payer" });
      orderId = r.body.order_id;
      await rowsWritten(stack, [orderId]);
    });
    const recorded = async () => (await stack.db.query("select count(*)::int as n from payment_events where order_id = $1", [orderId])).rows[0].n;
    const orderStatus = async () => (await stack.db.query("select status from orders where id = $1", [orderId])).rows[0].status;

    test.each([
      ["NUL", `evt${NUL}1`],
      ["a lone surrogate", `evt${LONE_SURROGATE}1`],
      ["a control character", "evt\u00011"],
    ])("an event_id holding %s → 422 naming event_id, nothing recorded", async (_n, id) => {
      const r = await sendWebhook(stack, { event_id: id, order_id: orderId, status: "succeeded", amount_cents: 100 });
      expectEnvelope(r, 422, "VALIDATION_ERROR");
      expect(Object.keys(r.body.error.details.fields)).toEqual(["event_id"]);
      expect(await recorded()).toBe(0);
      expect(await orderStatus()).toBe("pending");
    });

    test("a signed body that is not UTF-8 → 400 BAD_REQUEST, nothing recorded", async () => {
      const raw = bytes(`{"event_id":"evt@@","order_id":"${orderId}","status":"succeeded","amount_cents":100}`, NOT_UTF8);
      const r = await postBytes("/api/payments/webhook", raw, { "x-signature": signWebhook(WEBHOOK_SECRET, raw, Math.floor(Date.now() / 1000)) });
      expectEnvelope(r, 400, "BAD_REQUEST");
      expect(await recorded()).toBe(0);
    });
  });
});

/** One answer read off a raw connection. */
interface RawAnswer {
  status: number;
  type: string;
  body: any;
}

/**
 * Sends bytes as they are (no client would let us) and reads every answer until the
 * server closes: answers follow each other, each as long as its Content-Length (the last
 * one, without it, runs to the close). The client does not half-close: Node ends a
 * connection whose client did, unanswered requests and all.
 */
const rawExchange = (bytes: string) => new Promise<RawAnswer[]>((resolve, reject) => {
  const url = new URL(stack.baseUrl);
  const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
  const chunks: Buffer[] = [];
  socket.on("data", (c) => chunks.push(c));
  socket.on("error", reject);
  socket.on("close", () => {
    const answers: RawAnswer[] = [];
    let rest = Buffer.concat(chunks);
    while (rest.length > 0) {
      const end = rest.indexOf("\r\n\r\n");
      const head = rest.subarray(0, end < 0 ? rest.length : end).toString("latin1");
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const bodyStart = end < 0 ? rest.length : end + 4;
      const bodyEnd = length ? bodyStart + Number(length[1]) : rest.length;
      const body = rest.subarray(bodyStart, bodyEnd).toString("utf8");
      answers.push({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
        type: /content-type: ([^\r]*)/i.exec(head)?.[1] ?? "",
        body: body ? JSON.parse(body) : null,
      });
      rest = rest.subarray(bodyEnd);
    }
    resolve(answers);
  });
});

describe("requests Node's HTTP parser refuses", () => {
  const rawRequest = async (bytes: string) => (await rawExchange(bytes))[0];

  test.each([
    ["a NUL in a header", `POST /api/orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\nContent-Length: 2\r\n\r\n{}`],
    ["a broken request line", "GET /api/products/1 HTTP/9\r\n\r\n"],
    ["a header without a colon", "GET /health HTTP/1.1\r\nHost x\r\n\r\n"],
    ["HTTP/1.1 without Host", "GET /health/live HTTP/1.1\r\n\r\n"],
  ])("%s → 400 with the envelope", async (_n, bytes) => {
    const r = await rawRequest(bytes);
    expect(r.type).toMatch(/^application\/json/);
    expectEnvelope(r, 400, "BAD_REQUEST");
  });

  test("HTTP/1.0 without Host is answered (Host is HTTP/1.1's rule)", async () => {
    const r = await rawRequest("GET /health/live HTTP/1.0\r\n\r\n");
    expect(r).toEqual({ status: 200, type: expect.stringMatching(/^application\/json/), body: { status: "ok" } });
  });

  test("a valid request pipelined before garbage is answered first, then the garbage gets the 400 envelope", async () => {
    const answers = await rawExchange(`GET /api/products/${productId} HTTP/1.1\r\nHost: x\r\n\r\n\u0001\u0002 nonsense\r\n\r\n`);
    expect(answers.map((a) => a.status)).toEqual([200, 400]);
    expect(answers[0].body).toMatchObject({ id: productId, stock_available: 50 });
    expectEnvelope(answers[1], 400, "BAD_REQUEST");
  });

  test("an order pipelined before garbage is answered first (202), then the 400 envelope", async () => {
    const p = await stack.createProduct({ stock: 5 });
    const body = JSON.stringify({ product_id: p.id, qty: 1, user_id: "pipelined" });
    const answers = await rawExchange(
      `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        "GET /\u0000 HTTP/1.1\r\n\r\n",
    );
    expect(answers.map((a) => a.status)).toEqual([202, 400]);
    expect(answers[0].body).toMatchObject({ product_id: p.id, qty: 1, status: "reserved" });
    expectEnvelope(answers[1], 400, "BAD_REQUEST");
  });
});

describe("HEAD answers as GET does, without the body", () => {
  const head = async (path: string) => {
    const [h, g] = await Promise.all([fetch(stack.baseUrl + path, { method: "HEAD" }), fetch(stack.baseUrl + path)]);
    const getBody = Buffer.from(await g.arrayBuffer());
    return {
      head: { status: h.status, type: h.headers.get("content-type"), length: h.headers.get("content-length"), body: await h.text() },
      get: { status: g.status, type: g.headers.get("content-type"), length: String(getBody.length) },
    };
  };

  test.each([
    "/api/products/{product}",
    "/api/products/2000000000",
    "/api/products/0x1",
    "/api/orders/00000000-0000-4000-8000-000000000000",
    "/health/live",
    "/health/ready",
    "/api/openapi.json",
    "/docs",
    "/",
  ])("HEAD %s: the status and headers of GET, no body", async (path) => {
    const { head: h, get: g } = await head(path.replace("{product}", String(productId)));
    expect(h).toEqual({ status: g.status, type: g.type, length: g.length, body: "" });
  });

  test("HEAD of a live stream answers its headers and ends, holding no stream", async () => {
    const h = await fetch(`${stack.baseUrl}/api/products/${productId}/events`, { method: "HEAD" });
    expect({ status: h.status, type: h.headers.get("content-type"), body: await h.text() })
      .toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/), body: "" });
  });

  test("HEAD of the dashboard's stream: 401 without a session, its headers with one, never a body", async () => {
    const events = `${stack.baseUrl}/api/admin/dashboard/events`;
    const without = await fetch(events, { method: "HEAD" });
    expect({ status: without.status, body: await without.text() }).toEqual({ status: 401, body: "" });
    const signIn = await fetch(`${stack.baseUrl}/api/admin/dashboard/session`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0];
    const withSession = await fetch(events, { method: "HEAD", headers: { cookie } });
    expect({ status: withSession.status, type: withSession.headers.get("content-type"), body: await withSession.text() })
      .toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/), body: "" });
  });
});

test("BUYER_AUTH=none: an order is read without a token, and a token is ignored", async () => {
  expectEnvelope(await stack.http("GET", "/api/orders/00000000-0000-4000-8000-000000000000", undefined, { authorization: "Bearer junk" }), 404, "ORDER_NOT_FOUND");
});
