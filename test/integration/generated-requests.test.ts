/**
 * Generated requests (fast-check) against every endpoint of API.md that exists:
 * bodies, headers and paths a careless or hostile client could send. Whatever comes
 * in: never a 500, every error is the envelope with the status of its code, and every
 * 202 of POST /api/orders lands in PostgreSQL. Seeded and bounded: FLASH_TEST_SEED
 * replays a failing run (the seed is printed on failure).
 */
import { jest } from "@jest/globals";
import fc from "fast-check";
import { ERROR_STATUS } from "../../src/lib/errors.ts";
import { MAX_JSON_DEPTH } from "../../src/lib/params.ts";
import { signWebhook } from "../../src/domain/webhook-signature.ts";
import { TEST_SEED } from "../support/env.ts";
import { ADMIN_TOKEN, WEBHOOK_SECRET, startStack, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten } from "../support/orders.ts";

jest.setTimeout(120_000);

const RUNS = 500;

let stack: Stack;
/** products to aim at: one open to all, one with a per-user limit */
let products: number[];
/** a product sold through a line (a queue drawn in an hour): the line's routes aim at it */
let lineProduct: number;
/** order ids answered 202, and so owed a row: with the buyer and units as sent */
const accepted = new Map<string, { user_id: string | null; qty: number }>();

beforeAll(async () => {
  // the limiter would answer most generated requests 429 (one address, few buyers): out of the way
  stack = await startStack({ RATE_LIMIT_PER_SECOND: "1000000", RATE_LIMIT_BURST: "1000000" });
  await listenForEvents(stack.broker);
  products = [
    (await stack.createProduct({ stock: 1_000_000, max_per_order: 10_000, price_cents: 250 })).id,
    (await stack.createProduct({ stock: 1_000_000, max_per_order: 5, per_user_limit: 3, price_cents: 99 })).id,
  ];
  lineProduct = (await stack.createProduct({ stock: 100, per_user_limit: 1, access: "queue", sale_starts_at: new Date(Date.now() + 3_600_000).toISOString() })).id;
});
afterAll(async () => {
  await stack?.stop();
});

// ---- what a client can put in a string ---------------------------------------------
const nastyChar = fc.oneof(
  fc.constantFrom("\u0000", "\ud800", "\udfff", "\n", "\r", "\t", "\u0085", "\u2028", "\ufeff", "\ufffd", "{", "}", "\"", "\\", "%", "/", "😀", "é"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
);
const asciiWord = fc.string({ unit: "grapheme-ascii", maxLength: 20 });
const nastyString = fc.oneof(
  // an id that would pass but for one character a store cannot hold (or would change)
  fc.tuple(asciiWord, fc.constantFrom("\u0000", "\ud800", "\udfff", "\u0001", "\u009f"), asciiWord).map((p) => p.join("")),
  fc.string({ unit: nastyChar, maxLength: 80 }),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 64 }),
);
/** what fetch will put in a header: latin-1 without CR, LF or NUL */
const headerValue = fc.oneof(
  fc.string({ unit: "grapheme-ascii", maxLength: 140 }),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
);
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53 + 1, 1e308));
const anyJson = fc.jsonValue({ maxDepth: 2 });
/** a plausible body with one field (or an extra one) given a hostile value: gets past everything but that field's check */
const mutated = <T extends object>(base: fc.Arbitrary<T>, fields: string[]) =>
  fc.record({ body: base, field: fc.constantFrom(...fields, "extra"), value: fc.oneof({ weight: 3, arbitrary: nastyString }, { weight: 1, arbitrary: anyJson }) })
    .map(({ body, field, value }) => ({ ...body, [field]: value }));
/** a field: mostly the right type, sometimes anything */
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anyJson });

// ---- bodies ----------------------------------------------------------------------
/** an index into `products` (or an id of no product), resolved when the request is sent */
const productRef = fc.oneof({ weight: 4, arbitrary: fc.nat(1).map((i) => ({ product: i })) }, { weight: 1, arbitrary: anyNumber });
/** an order a buyer would send: one of our products, a few units, a buyer (sometimes anonymous) */
const plausibleOrder = fc.record(
  { product_id: fc.nat(1).map((i) => ({ product: i })), qty: fc.integer({ min: 1, max: 3 }), user_id: fc.integer({ min: 1, max: 50 }).map((n) => `buyer-${n}`) },
  { requiredKeys: ["product_id", "qty"] },
);
const fuzzyOrder = fc.record(
  {
    product_id: field(productRef),
    qty: field(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: anyNumber })),
    user_id: field(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 50 }).map((n) => `buyer-${n}`) }, { weight: 2, arbitrary: nastyString })),
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const orderBody = fc.oneof(
  { weight: 2, arbitrary: plausibleOrder },
  { weight: 2, arbitrary: mutated(plausibleOrder, ["user_id", "user_id", "qty", "product_id"]) },
  { weight: 1, arbitrary: fuzzyOrder },
);
const plausibleProduct = fc.record(
  { name: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }), price_cents: fc.integer({ min: 0, max: 10_000 }), stock: fc.integer({ min: 0, max: 100 }) },
);
const fuzzyProduct = fc.record(
  {
    name: field(nastyString),
    price_cents: field(anyNumber),
    stock: field(fc.oneof(fc.integer({ min: 0, max: 100 }), anyNumber)),
    currency: field(fc.oneof(fc.constantFrom("USD", "EUR", "usd"), nastyString)),
    sale_starts_at: field(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), nastyString)),
    sale_ends_at: field(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), nastyString)),
    per_user_limit: field(fc.oneof(fc.integer({ min: 1, max: 5 }), anyNumber)),
    max_per_order: field(fc.oneof(fc.integer({ min: 1, max: 5 }), anyNumber)),
  },
  { requiredKeys: [] },
);
const productBody = fc.oneof(
  { weight: 3, arbitrary: plausibleProduct },
  { weight: 1, arbitrary: mutated(plausibleProduct, ["name", "name", "currency", "sale_starts_at", "stock"]) },
  { weight: 1, arbitrary: fuzzyProduct },
);
/** an accepted order (by index), or an id of no order */
const orderRef = fc.oneof(fc.nat().map((i) => ({ order: i })), fc.uuid(), nastyString);
/** what the provider sends: a fresh event about one of the accepted orders, with its amount */
const plausibleEvent = fc.record({
  event_id: fc.uuid().map((u) => `evt_${u}`), order_id: fc.nat().map((i) => ({ order: i })),
  status: fc.constantFrom("succeeded", "failed"), amount_cents: fc.constant("exact"),
});
const fuzzyEvent = fc.record(
  {
    event_id: field(fc.oneof(fc.uuid().map((u) => `evt_${u}`), nastyString)),
    order_id: field(orderRef),
    status: field(fc.constantFrom("succeeded", "failed", "refunded")),
    amount_cents: field(fc.oneof(fc.constantFrom("exact"), anyNumber)),
  },
  { requiredKeys: [] },
);
const eventBody = fc.oneof(
  { weight: 3, arbitrary: plausibleEvent },
  { weight: 2, arbitrary: mutated(plausibleEvent, ["event_id", "event_id", "order_id", "amount_cents", "status"]) },
  { weight: 1, arbitrary: fuzzyEvent },
);
const rawBytes = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
/** wide: hundreds to thousands of members in one array or object (still under the 16 KiB limit, mostly) */
const wideJson = fc.oneof(
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.string({ maxLength: 3 })), { minLength: 100, maxLength: 3000 }),
  fc.dictionary(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }), fc.integer(), { minKeys: 50, maxKeys: 1000 }),
);
/**
 * deep: arrays and objects nested around MAX_JSON_DEPTH or far past it (thousands of `[`
 * once overflowed a stack), as the whole body or as a field of it (a known one, whose
 * refusal quotes the value, or another). Nested as text when the body is written, so no
 * value this deep is ever walked here.
 */
interface Nesting {
  levels: number;
  /** per level, cycling: an array (true) or an object (false) */
  arrays: readonly boolean[];
  /** the field the nest is put in (last, so it wins over one of the same name), or none: the whole body */
  field: string | null;
}
const nesting: fc.Arbitrary<Nesting> = fc.record({
  levels: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: MAX_JSON_DEPTH - 2, max: MAX_JSON_DEPTH + 2 }) }, { weight: 3, arbitrary: fc.integer({ min: 2000, max: 8000 }) }),
  arrays: fc.oneof({ weight: 3, arbitrary: fc.constant([true]) }, { weight: 1, arbitrary: fc.constant([false]) }, { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: 2, maxLength: 4 }) }),
  field: fc.oneof(fc.constant(null), fc.constantFrom("x", "product_id", "qty", "user_id", "name", "stock", "add", "event_id", "amount_cents")),
});

// ---- requests --------------------------------------------------------------------
type Body = { json: unknown; nest?: Nesting } | { bytes: Buffer } | null;
interface Generated {
  method: string;
  path: string | { restock: unknown } | { order: unknown } | { product: unknown } | { line: string; admin?: boolean };
  body: Body;
  headers: Record<string, string>;
  /** webhook signature: valid, of other bytes, stale, garbage, absent */
  signature?: "valid" | "other" | "stale" | { garbage: string } | "absent";
}

const asBody = <T>(json: fc.Arbitrary<T>): fc.Arbitrary<Body> =>
  fc.oneof({ weight: 6, arbitrary: json.map((j) => ({ json: j })) }, { weight: 1, arbitrary: fc.oneof(anyJson, wideJson).map((j) => ({ json: j })) },
    { weight: 1, arbitrary: fc.record({ json, nest: nesting }) }, { weight: 1, arbitrary: rawBytes.map((b) => ({ bytes: b })) }, { weight: 1, arbitrary: fc.constant(null) });
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/json; charset=utf-16", "application/vnd.api+json", "application/x-www-form-urlencoded") },
  { weight: 1, arbitrary: headerValue },
);
const auth = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`) },
  { weight: 1, arbitrary: fc.constantFrom("", "Bearer ", `Bearer ${ADMIN_TOKEN}x`, ADMIN_TOKEN, `bearer ${ADMIN_TOKEN}`) },
  { weight: 1, arbitrary: headerValue },
);
const idempotencyKey = fc.oneof(
  fc.uuid(),
  fc.integer({ min: 1, max: 20 }).map((n) => `shared-key-${n}`), // reused: replays and IDEMPOTENCY_KEY_REUSED
  headerValue,
);
/** percent-encoded like encodeURIComponent, but a lone surrogate is sent as its three WTF-8 bytes (it has no UTF-8) */
const encodeSegment = (text: string) =>
  Array.from(text, (ch) => {
    const u = ch.charCodeAt(0);
    if (ch.length === 2 || u < 0xd800 || u > 0xdfff) return encodeURIComponent(ch);
    return [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
  }).join("");
const segment = fc.oneof(
  nastyString.map(encodeSegment),
  fc.constantFrom("%00", "%ED%A0%80", "%C0%80", "%FF", "%", "%%", "..", ".", "", "%2F", "1e3", "0x10", "-0"),
  fc.uuid(),
  fc.nat().map(String),
);

const orderPost: fc.Arbitrary<Generated> = fc.record({
  method: fc.constant("POST"),
  path: fc.oneof({ weight: 9, arbitrary: fc.constant("/api/orders") }, { weight: 1, arbitrary: fc.constantFrom("/api/orders?x=1", "/api/orders/", "/api/orders?") }),
  body: asBody(orderBody),
  headers: fc.oneof(
    { weight: 4, arbitrary: fc.record({ "content-type": fc.constant("application/json"), "idempotency-key": idempotencyKey }, { requiredKeys: ["content-type"] }) },
    {
      weight: 1,
      arbitrary: fc.record(
        { "content-type": contentType, "idempotency-key": idempotencyKey, "content-encoding": fc.constantFrom("identity", "gzip"), "entry-token": headerValue },
        { requiredKeys: [] },
      ),
    },
  ),
});
const reads: fc.Arbitrary<Generated> = fc.record({
  method: fc.constantFrom("GET", "GET", "GET", "HEAD"),
  path: fc.oneof(
    { weight: 3, arbitrary: fc.nat(1).map((i) => ({ product: i })) },
    { weight: 1, arbitrary: orderRef.map((o) => ({ order: o })) },
    { weight: 1, arbitrary: segment.map((s) => `/api/products/${s}`) },
    { weight: 1, arbitrary: segment.map((s) => `/api/orders/${s}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("/health", "/health/live", "/health/ready", "/metrics", "/api", "/api/", "/", "/api/products", "/api/admin", "//api/orders", "/api/products/1/", "/health?x"),
    },
    { weight: 1, arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`) },
  ),
  body: fc.constant(null),
  headers: fc.record({ authorization: auth }, { requiredKeys: [] }),
});
/** an admin's headers: mostly both, sometimes without the token */
const adminHeaders = fc.oneof(
  { weight: 4, arbitrary: fc.record({ "content-type": contentType, authorization: auth }) },
  { weight: 1, arbitrary: fc.record({ "content-type": contentType, authorization: auth }, { requiredKeys: ["content-type"] }) },
);
const admin: fc.Arbitrary<Generated> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/api/admin/products"),
      body: asBody(productBody),
      headers: adminHeaders,
    }),
  },
  fc.record({
    method: fc.constant("POST"),
    path: fc.oneof(productRef.map((p) => ({ restock: p })), segment.map((s) => `/api/admin/products/${s}/restock`)),
    body: asBody(fc.record({ add: field(fc.oneof(fc.integer({ min: 1, max: 10 }), anyNumber)), extra: anyJson }, { requiredKeys: [] })),
    headers: adminHeaders,
  }),
  fc.record({
    method: fc.constant("GET"),
    path: fc.constantFrom("/api/admin/audit", "/api/admin/audit?product_id=1", "/api/admin/audit?product_id=%00"),
    body: fc.constant(null),
    headers: fc.record({ authorization: auth }, { requiredKeys: [] }),
  }),
);
/** a line's routes: joining, the line and its challenge, a ticket (of no line, or no ticket id at all), the operator's patch */
const ticketSegment = fc.oneof(fc.string({ unit: fc.constantFrom(..."ABCabc019_-"), minLength: 16, maxLength: 64 }), segment);
const line: fc.Arbitrary<Generated> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant("POST"),
      path: fc.oneof({ weight: 4, arbitrary: fc.constant({ line: "" }) }, { weight: 1, arbitrary: segment.map((s) => `/api/products/${s}/queue`) }),
      body: asBody(fc.record({ user_id: field(fc.oneof(fc.integer({ min: 1, max: 50 }).map((n) => `joiner-${n}`), nastyString)), challenge: field(nastyString), extra: anyJson }, { requiredKeys: [] })),
      headers: fc.record({ "content-type": contentType }),
    }),
  },
  fc.record({
    method: fc.constantFrom("GET", "DELETE", "HEAD"),
    path: fc.oneof(fc.constantFrom("", "/challenge").map((tail) => ({ line: tail })), ticketSegment.map((t) => ({ line: `/${t}` }))),
    body: fc.constant(null),
    headers: fc.constant({}),
  }),
  fc.record({
    method: fc.constant("PATCH"),
    path: fc.constant({ line: "", admin: true }),
    body: asBody(fc.record({ admit_per_second: field(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(null), anyNumber)), paused: field(fc.boolean()), extra: anyJson }, { requiredKeys: [] })),
    headers: adminHeaders,
  }),
);
const webhook: fc.Arbitrary<Generated> = fc.record({
  method: fc.constant("POST"),
  path: fc.constant("/api/payments/webhook"),
  body: asBody(eventBody),
  headers: fc.record({ "content-type": contentType }),
  signature: fc.oneof(
    { weight: 6, arbitrary: fc.constant("valid" as const) },
    { weight: 1, arbitrary: fc.constantFrom("other" as const, "stale" as const, "absent" as const) },
    { weight: 1, arbitrary: headerValue.map((garbage) => ({ garbage })) },
  ),
});
const otherMethods: fc.Arbitrary<Generated> = fc.record({
  method: fc.constantFrom("PUT", "PATCH", "DELETE", "OPTIONS"),
  path: fc.constantFrom("/api/orders", "/api/products/1", "/api/admin/products", "/api/payments/webhook", "/health", "/nope"),
  body: asBody(anyJson),
  headers: fc.record({ "content-type": contentType, authorization: auth }, { requiredKeys: [] }),
});
/**
 * The weights are set so that each answer the test asserts it reached is expected ~15 times
 * or more in RUNS requests, whatever the seed, so that missing one has a chance below 1e-6:
 * a product created (201) is about 2.9 % of requests (admin 4/18 × creation 3/5 × a JSON body
 * 6/10 × a plausible product 3/5 × JSON content type 12/14 × the admin token 0.9 × 8/10), a
 * product read (GET 200) about 4.4 % (reads 3/18 × 3/8 × GET 3/4), a paid webhook (200) about
 * 3.2 % (webhooks 3/18 × a plausible event 3/6 × 6/10 × a valid signature 6/8 × JSON content
 * type 12/14) once orders exist. A body nested past the depth that overflowed the validator's
 * stack (all arrays, ~3,500 levels or more) is about 1.2 % (a body 0.7 × nested 1/10 × JSON
 * content type 0.85 × arrays 3/5 × 2,000..8,000 levels 3/4 × past 3,500 3/4 × a field
 * quoted when refused 2/3), ~6 in RUNS.
 */
const generated = fc.oneof(
  { weight: 5, arbitrary: orderPost },
  { weight: 3, arbitrary: reads },
  { weight: 4, arbitrary: admin },
  { weight: 3, arbitrary: webhook },
  { weight: 1, arbitrary: otherMethods },
  { weight: 2, arbitrary: line },
);

// ---- sending ---------------------------------------------------------------------
const acceptedList: Array<{ order_id: string; amount_cents: number }> = [];

/** Turns the placeholders (a product, an accepted order, "exact" amount) into this run's values. */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.product === "number") return products[o.product % products.length];
    if (Object.keys(o).length === 1 && typeof o.order === "number") {
      return acceptedList.length ? acceptedList[o.order % acceptedList.length].order_id : "00000000-0000-4000-8000-000000000000";
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  }
  return value;
}

function pathOf(g: Generated): string {
  const p = g.path;
  if (typeof p === "string") return p;
  const enc = (v: unknown) => encodeSegment(String(resolve(v)));
  if ("line" in p) return `${p.admin ? "/api/admin" : "/api"}/products/${lineProduct}/queue${p.line}`;
  if ("restock" in p) return `/api/admin/products/${enc(p.restock)}/restock`;
  if ("order" in p) return `/api/orders/${enc(p.order)}`;
  return `/api/products/${enc(p)}`;
}

function bytesOf(g: Generated): Buffer | undefined {
  if (g.body === null || g.method === "GET" || g.method === "HEAD") return undefined;
  if ("bytes" in g.body) return g.body.bytes;
  let json = resolve(g.body.json);
  if (json && typeof json === "object" && !Array.isArray(json) && (json as Record<string, unknown>).amount_cents === "exact") {
    const order = acceptedList.find((o) => o.order_id === (json as Record<string, unknown>).order_id);
    json = { ...json, amount_cents: order?.amount_cents ?? 0 };
  }
  const text = JSON.stringify(json) ?? "null";
  return Buffer.from(g.body.nest ? nested(text, g.body.nest) : text);
}

/** `text` (JSON) nested `levels` deep: the whole of it, or a field's value when it is an object. */
function nested(text: string, { levels, arrays, field }: Nesting): string {
  let open = "";
  let close = "";
  for (let i = 0; i < levels; i++) {
    const array = arrays[i % arrays.length];
    open += array ? "[" : '{"a":';
    close = (array ? "]" : "}") + close;
  }
  if (field === null || !text.startsWith("{")) return open + text + close;
  return `${text.slice(0, -1)}${text === "{}" ? "" : ","}"${field}":${open}0${close}}`;
}

async function send(g: Generated) {
  const body = bytesOf(g);
  const headers: Record<string, string> = { ...g.headers };
  if (g.signature !== undefined && g.signature !== "absent") {
    const now = Math.floor(Date.now() / 1000);
    const raw = body ?? Buffer.alloc(0);
    headers["x-signature"] =
      g.signature === "valid" ? signWebhook(WEBHOOK_SECRET, raw, now)
        : g.signature === "stale" ? signWebhook(WEBHOOK_SECRET, raw, now - 3600)
          : g.signature === "other" ? signWebhook(WEBHOOK_SECRET, Buffer.concat([raw, Buffer.from(" ")]), now)
            : g.signature.garbage;
  }
  const res = await fetch(stack.baseUrl + pathOf(g), { method: g.method, headers, body: body && new Uint8Array(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: parsed as any, sent: body };
}

const ERROR_CODES = Object.keys(ERROR_STATUS);
/** statuses an error code may carry besides its own: oversized (413) and unsupported (415) bodies are BAD_REQUEST */
const alsoAllowed: Record<string, number[]> = { BAD_REQUEST: [413, 415] };

function checkAnswer(g: Generated, path: string, r: Awaited<ReturnType<typeof send>>) {
  const what = `${g.method} ${path} → ${r.status} ${typeof r.body === "string" ? r.body.slice(0, 200) : JSON.stringify(r.body)}`;
  if (r.status >= 500 && r.status !== 503) throw new Error(`a ${r.status}: ${what}`);
  if (g.method === "HEAD") return;
  const isHealthReport = path.startsWith("/health") && r.status === 503;
  if (r.status >= 400 && !isHealthReport) {
    const e = r.body?.error;
    const ok = r.body && Object.keys(r.body).length === 1 && e && typeof e.message === "string" && ERROR_CODES.includes(e.code) &&
      (ERROR_STATUS[e.code as keyof typeof ERROR_STATUS] === r.status || alsoAllowed[e.code]?.includes(r.status)) &&
      (e.details === undefined || (typeof e.details === "object" && e.details !== null)) &&
      Object.keys(e).every((k) => ["code", "message", "details"].includes(k)) && r.type.startsWith("application/json");
    if (!ok) throw new Error(`not the error envelope: ${what}`);
  }
  if (g.method === "POST" && path.startsWith("/api/orders") && r.status === 202) {
    if (typeof r.body?.order_id !== "string") throw new Error(`a 202 without an order: ${what}`);
    if (!accepted.has(r.body.order_id)) {
      const sent = JSON.parse(r.sent!.toString("utf8")) as { user_id?: string; qty: number };
      acceptedList.push({ order_id: r.body.order_id, amount_cents: r.body.amount_cents });
      accepted.set(r.body.order_id, { user_id: sent.user_id ?? null, qty: sent.qty });
    }
  }
}

test(`${RUNS} generated requests at every endpoint: never a 500, every error the envelope, every 202 lands in PostgreSQL`, async () => {
  const seed = TEST_SEED ?? Date.now() ^ (Math.random() * 0x7fffffff);
  const statuses = new Map<string, number>();
  try {
    await fc.assert(
      fc.asyncProperty(generated, async (g) => {
        const path = pathOf(g);
        const r = await send(g);
        const endpoint = `${g.method} ${path.replace(/^(\/[^/?]*\/?[^/?]*).*/, "$1")}`;
        statuses.set(`${endpoint} ${r.status}`, (statuses.get(`${endpoint} ${r.status}`) ?? 0) + 1);
        checkAnswer(g, path, r);
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
  } catch (err) {
    console.error(`generated-requests failed with seed ${seed} (replay: FLASH_TEST_SEED=${seed})`);
    throw err;
  }
  console.log(`seed ${seed}: ${accepted.size} orders accepted; answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()), null, 1)}`);
  // the generators must reach the interesting answers, or the test proves little
  expect(accepted.size).toBeGreaterThan(10);
  const answered = [...statuses.keys()];
  for (const [endpoint, status] of [["POST /api/orders", 422], ["POST /api/admin", 201], ["POST /api/admin", 401], ["POST /api/payments", 200], ["POST /api/payments", 401], ["GET /api/products", 200]]) {
    expect(answered).toContain(`${endpoint} ${status}`);
  }

  // landed as sent: a buyer id changed on its way (U+FFFD for an unpaired surrogate) is an order lost too
  const ids = [...accepted.keys()];
  await rowsWritten(stack, ids, 30_000);
  const { rows } = await stack.db.query("select id, user_id, qty from orders where id = any($1::uuid[])", [ids]);
  expect(Object.fromEntries(rows.map((r) => [r.id, { user_id: r.user_id, qty: r.qty }]))).toEqual(Object.fromEntries(accepted));
  const audit = await stack.http("GET", "/api/admin/audit", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(audit.status).toBe(200);
  expect(audit.body.ok).toBe(true);
});
