/**
 * BUYER_AUTH=jwt over HTTP: the buyer is the token's sub. Every refused token changes
 * nothing (no reservation in the shard, no order row, stock unchanged); an order is read
 * only by its buyer; per-user limits and rate limits count sub.
 */
import { startStack, type Stack } from "../support/stack.ts";
import { expectEnvelope } from "../support/envelope.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten } from "../support/orders.ts";
import { holdOrderWriter } from "../support/hold-writer.ts";
import {
  BUYER_SECRET, bearer, es256, hs256, hs256WithPublicKey, identityProvider, rs256, tampered, unsigned, type Signer,
} from "../support/buyer-tokens.ts";

let stack: Stack;
let idp: Signer;

beforeAll(async () => {
  idp = await identityProvider();
  // both key sources at once: the token's alg picks one, and neither accepts the other's algorithms
  stack = await startStack({
    BUYER_AUTH: "jwt", BUYER_JWT_SECRET: BUYER_SECRET, BUYER_JWKS: idp.jwksFile,
    RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "3",
  });
  await listenForEvents(stack.broker);
});
afterAll(async () => {
  await stack?.stop();
});

const order = (body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.http("POST", "/api/orders", body, headers);

async function expectUntouched(productId: number, stock: number) {
  expect((await stack.http("GET", `/api/products/${productId}`)).body.stock_available).toBe(stock);
  const shard = await stack.broker.call<{ available: number; reserved: number }, object>("inventory.shard", { product_id: productId });
  expect({ available: shard.available, reserved: shard.reserved }).toEqual({ available: stock, reserved: 0 });
  expect(await stack.broker.call("inventory.holders", { product_id: productId })).toEqual({});
  const { rows } = await stack.db.query("select count(*)::int as n from orders where product_id = $1", [productId]);
  expect(rows[0].n).toBe(0);
}

describe("POST /api/orders refuses every token that is not the shop's, and changes nothing", () => {
  let productId: number;
  beforeAll(async () => {
    productId = (await stack.createProduct({ stock: 20, per_user_limit: 5, max_per_order: 5 })).id;
  });
  afterEach(() => expectUntouched(productId, 20));

  test.each([
    ["no Authorization header", async () => ({})],
    ["the admin token", async () => bearer("test-admin-token")],
    ["a forged signature (another secret)", async () => bearer(await hs256({}, "not-the-shops-secret-but-32-bytes-long"))],
    ["a valid token with its sub edited", async () => bearer(tampered(await hs256({ sub: "alice" }), { sub: "mallory" }))],
    ["an expired token", async () => bearer(await hs256({ expiresIn: -120 }))],
    ["a token not yet valid", async () => bearer(await hs256({ notBefore: 120 }))],
    ["alg: none", async () => bearer(unsigned())],
    ["HS256 keyed with the RSA public key (HS/RS confusion)", async () => bearer(hs256WithPublicKey(idp.rsaPublicPem))],
    ["RS256 by a key outside the JWKS", async () => bearer(await rs256((await identityProvider()).rsa))],
  ])("%s → 401 UNAUTHORIZED", async (_name, headers) => {
    expectEnvelope(await order({ product_id: productId, qty: 1 }, await headers()), 401, "UNAUTHORIZED");
  });

  test("a body user_id that is not the token's sub → 403 FORBIDDEN", async () => {
    const r = await order({ product_id: productId, qty: 1, user_id: "bob" }, bearer(await hs256({ sub: "alice" })));
    expectEnvelope(r, 403, "FORBIDDEN");
  });
});

describe("the buyer is the token's sub", () => {
  test("HS256: an order without user_id is the sub's; only its buyer reads it, before and after it lands", async () => {
    const p = await stack.createProduct({ stock: 5, price_cents: 700 });
    const alice = bearer(await hs256({ sub: "alice-hs" }));
    const reads = async (path: string) => ({
      buyer: await stack.http("GET", path, undefined, alice),
      other: await stack.http("GET", path, undefined, bearer(await hs256({ sub: "bob-hs" }))),
      anonymous: await stack.http("GET", path),
    });
    // before it lands: the writer held back, the order only `reserved` in its shard
    const release = await holdOrderWriter(stack, p.id);
    let r, early;
    try {
      r = await order({ product_id: p.id, qty: 2 }, alice);
      early = await reads(`/api/orders/${r.body.order_id}`);
    } finally {
      await release();
    }
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ user_id: "alice-hs", qty: 2, amount_cents: 1400 });
    const path = `/api/orders/${r.body.order_id}`;
    expect([early.buyer.status, early.buyer.body.status]).toEqual([200, "reserved"]);
    expectEnvelope(early.other, 403, "FORBIDDEN");
    expectEnvelope(early.anonymous, 401, "UNAUTHORIZED");

    await rowsWritten(stack, [r.body.order_id]);
    const late = await reads(path);
    expect(late.buyer.body).toMatchObject({ order_id: r.body.order_id, status: "pending", user_id: "alice-hs" });
    expectEnvelope(late.other, 403, "FORBIDDEN");
    expectEnvelope(late.anonymous, 401, "UNAUTHORIZED");
    // product endpoints stay public
    expect((await stack.http("GET", `/api/products/${p.id}`)).status).toBe(200);
  });

  test("RS256 and ES256 with the keys of the BUYER_JWKS file", async () => {
    const p = await stack.createProduct({ stock: 5 });
    const rs = await order({ product_id: p.id, qty: 1, user_id: "rs-buyer" }, bearer(await rs256(idp.rsa, { sub: "rs-buyer" })));
    const es = await order({ product_id: p.id, qty: 1 }, bearer(await es256(idp.ec, { sub: "es-buyer" })));
    expect([rs.status, rs.body.user_id, es.status, es.body.user_id]).toEqual([202, "rs-buyer", 202, "es-buyer"]);
    const read = await stack.http("GET", `/api/orders/${rs.body.order_id}`, undefined, bearer(await rs256(idp.rsa, { sub: "rs-buyer" })));
    expect(read.status).toBe(200);
  });

  test("another buyer sending a buyer's Idempotency-Key gets no replay of that buyer's order", async () => {
    const p = await stack.createProduct({ stock: 5 });
    const key = { "idempotency-key": `shared-key-${p.id}` };
    const first = await order({ product_id: p.id, qty: 1 }, { ...bearer(await hs256({ sub: "ivy" })), ...key });
    expect(first.status).toBe(202);
    const other = await order({ product_id: p.id, qty: 1 }, { ...bearer(await hs256({ sub: "jack" })), ...key });
    expectEnvelope(other, 422, "IDEMPOTENCY_KEY_REUSED");
    expect(JSON.stringify(other.body)).not.toContain(first.body.order_id);
    const replay = await order({ product_id: p.id, qty: 1 }, { ...bearer(await hs256({ sub: "ivy" })), ...key });
    expect([replay.status, replay.body.order_id]).toEqual([202, first.body.order_id]);
  });

  test("the per-user limit counts sub", async () => {
    const p = await stack.createProduct({ stock: 10, per_user_limit: 2 });
    const carol = bearer(await hs256({ sub: "carol" }));
    expect((await order({ product_id: p.id, qty: 2 }, carol)).status).toBe(202);
    expectEnvelope(await order({ product_id: p.id, qty: 1 }, carol), 409, "LIMIT_EXCEEDED");
    expect((await order({ product_id: p.id, qty: 2 }, bearer(await hs256({ sub: "dan" })))).status).toBe(202);
    expect(await stack.broker.call("inventory.holders", { product_id: p.id })).toEqual({ carol: 2, dan: 2 });
  });

  test("the rate limit counts sub, not the shared address", async () => {
    const p = await stack.createProduct({ stock: 0 });
    const erin = bearer(await hs256({ sub: "erin" }));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await order({ product_id: p.id, qty: 1 }, erin)).status);
    expect(answers).toEqual([409, 409, 409, 429]);
    // the same address, another buyer: a budget of its own
    expect((await order({ product_id: p.id, qty: 1 }, bearer(await hs256({ sub: "frank" })))).status).toBe(409);
  });
});

describe("bad input in jwt mode: a 4xx with the envelope, never a 500, nothing changed", () => {
  let productId: number;
  beforeAll(async () => {
    productId = (await stack.createProduct({ stock: 20, per_user_limit: 5, max_per_order: 5 })).id;
  });
  afterEach(() => expectUntouched(productId, 20));

  const header = (value: string) => ({ authorization: value });
  test.each([
    ["an Authorization of 9,000 characters", async () => header(`Bearer ${"a".repeat(9000)}`), 401, "UNAUTHORIZED"],
    ["a token with a space inside", async () => header(`Bearer ${(await hs256()).replace(".", ". ")}`), 401, "UNAUTHORIZED"],
    ["segments that are not JSON", async () => header("Bearer e30.bm90IGpzb24.c2ln"), 401, "UNAUTHORIZED"],
    ["an array sub", async () => bearer(await hs256({ sub: ["a", "b"] })), 401, "UNAUTHORIZED"],
    ["a sub of 65 characters", async () => bearer(await hs256({ sub: "s".repeat(65) })), 401, "UNAUTHORIZED"],
    ["Basic credentials", async () => header("Basic dXNlcjpwYXNz"), 401, "UNAUTHORIZED"],
  ])("POST /api/orders with %s → %d %s", async (_name, headers, status, code) => {
    expectEnvelope(await order({ product_id: productId, qty: 1 }, await headers()), status, code);
  });

  test.each([
    ["user_id null", { user_id: null }, 403, "FORBIDDEN"],
    ["a numeric user_id", { user_id: 7 }, 403, "FORBIDDEN"],
    ["an unknown field", { coupon: "FREE" }, 422, "VALIDATION_ERROR"],
    ["qty 0", { qty: 0 }, 422, "VALIDATION_ERROR"],
  ])("a valid token and a body with %s → %d %s", async (_name, fields, status, code) => {
    expectEnvelope(await order({ product_id: productId, qty: 1, ...fields }, bearer(await hs256({ sub: "grace" }))), status, code);
  });

  test("a valid token and malformed JSON → 400 BAD_REQUEST", async () => {
    const r = await stack.http("POST", "/api/orders", "{\"product_id\":", { "content-type": "application/json", ...bearer(await hs256()) });
    expectEnvelope(r, 400, "BAD_REQUEST");
  });

  test("a valid token and JSON nested 4,000 levels deep → 400 BAD_REQUEST, with or without user_id", async () => {
    const deep = "[".repeat(4000) + "]".repeat(4000);
    for (const body of [deep, `{"product_id":${productId},"qty":1,"x":${deep}}`, `{"product_id":${productId},"qty":1,"user_id":"grace","x":${deep}}`]) {
      const r = await stack.http("POST", "/api/orders", body, { "content-type": "application/json", ...bearer(await hs256({ sub: "grace" })) });
      expectEnvelope(r, 400, "BAD_REQUEST");
    }
  });

  test.each([
    ["/api/orders/not-a-uuid", false, 401, "UNAUTHORIZED"],
    ["/api/orders/not-a-uuid", true, 422, "VALIDATION_ERROR"],
    ["/api/orders/00000000-0000-4000-8000-000000000000", true, 404, "ORDER_NOT_FOUND"],
    ["/api/orders/00000000-0000-4000-8000-000000000000", false, 401, "UNAUTHORIZED"],
  ])("GET %s (token: %s) → %d %s", async (path, withToken, status, code) => {
    expectEnvelope(await stack.http("GET", path, undefined, withToken ? bearer(await hs256()) : {}), status, code);
  });
});
