/**
 * A product's line through the gateway (API.md, "Fair access"): joining, the line, one
 * ticket (read, leave, follow live), the operator's patch, and the entry an order carries,
 * with BUYER_AUTH=none and =jwt, on real servers. Entry tokens that are not the line's are
 * refused at the gateway, and change nothing.
 */
import { request } from "node:http";
import { SignJWT } from "jose";
import { EntryTokens } from "../../src/domain/entry-token.ts";
import { compileCheck } from "../../src/lib/params.ts";
import { SOLD_OUT_EVENT } from "../../src/contracts/events.ts";
import { lineAnswer, ticketAnswer } from "../../services/gateway/openapi/answers.ts";
import { ADMIN_TOKEN, startStack, type HttpReply, type Stack } from "../support/stack.ts";
import { expectEnvelope } from "../support/envelope.ts";
import { openSse, type SseClient } from "../support/event-stream.ts";
import { BUYER_SECRET, bearer, hs256, unsigned } from "../support/buyer-tokens.ts";

const isTicket = compileCheck(ticketAnswer);
const isLine = compileCheck(lineAnswer);
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** a ticket id of the right form that no line issued */
const UNKNOWN_TICKET = "AAAAAAAAAAAAAAAAAAAAAA";
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

/** A line's product: a queue drawn `drawIn` seconds from now, one unit per entry. */
const queueProduct = (stack: Stack, fields: Record<string, unknown> = {}, drawIn = 3600) =>
  stack.createProduct({ stock: 5, per_user_limit: 1, max_per_order: 1, access: "queue", sale_starts_at: inSeconds(drawIn), ...fields });

const join = (stack: Stack, productId: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  stack.http("POST", `/api/products/${productId}/queue`, body, headers);

/** A request from another loopback address (127.0.0.0/8 is all local): its own address rate limit. */
function from(stack: Stack, address: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${stack.baseUrl}${path}`, {
      method, localAddress: address,
      headers: { ...(payload === undefined ? {} : { "content-type": "application/json" }), ...headers },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body: text ? JSON.parse(text) : null }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function stockOf(stack: Stack, productId: number): Promise<number> {
  return (await stack.http("GET", `/api/products/${productId}`)).body.stock_available;
}

describe("BUYER_AUTH=none", () => {
  let stack: Stack;
  let entries: EntryTokens;
  beforeAll(async () => {
    stack = await startStack();
    entries = new EntryTokens(stack.config.entryTokenSecret);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe("joining", () => {
    test("a first join is 201 with a new ticket (and where it lives); joining again is 200 with that same ticket", async () => {
      const p = await queueProduct(stack);
      const first = await join(stack, p.id, { user_id: "joiner-1" });
      expect(first.status).toBe(201);
      expect(isTicket(first.body)).toBe(true);
      expect(first.body).toMatchObject({ product_id: p.id, user_id: "joiner-1", status: "waiting", join_number: 0, position: null, entry_token: null });
      expect(first.body.ticket_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(first.headers.get("location")).toBe(`/api/products/${p.id}/queue/${first.body.ticket_id}`);
      const again = await join(stack, p.id, { user_id: "joiner-1" });
      expect(again.status).toBe(200);
      expect(again.body.ticket_id).toBe(first.body.ticket_id);
      expect((await join(stack, p.id, { user_id: "joiner-2" })).body).toMatchObject({ status: "waiting", join_number: 1 });
    });

    test("the `challenge` field is taken (and not needed) when the product's challenge is off", async () => {
      const p = await queueProduct(stack);
      const r = await join(stack, p.id, { user_id: "with-challenge", challenge: Buffer.from("{}").toString("base64") });
      expect(r.status).toBe(201);
    });

    test.each([
      ["no user_id", {}, "user_id"],
      ["an empty user_id", { user_id: "" }, "user_id"],
      ["a user_id with a control character", { user_id: "a\u0001b" }, "user_id"],
      ["a user_id of 65 characters", { user_id: "u".repeat(65) }, "user_id"],
      ["a numeric challenge", { user_id: "u", challenge: 5 }, "challenge"],
      ["an unknown field", { user_id: "u", priority: "first" }, "body"],
    ])("%s → 422 VALIDATION_ERROR naming the field, no ticket", async (_name, body, field) => {
      const p = await queueProduct(stack);
      const r = await join(stack, p.id, body);
      expectEnvelope(r, 422, "VALIDATION_ERROR");
      expect(Object.keys(r.body.error.details.fields)).toEqual([field]);
      expect((await stack.http("GET", `/api/products/${p.id}/queue`)).body.joined).toBe(0);
    });

    test("an open product has no line: 409 QUEUE_NOT_OPEN; an unknown one 404 PRODUCT_NOT_FOUND; a bad id 422", async () => {
      const open = await stack.createProduct({ stock: 3 });
      expectEnvelope(await join(stack, open.id, { user_id: "u" }), 409, "QUEUE_NOT_OPEN");
      expectEnvelope(await join(stack, 2_000_000_000, { user_id: "u" }), 404, "PRODUCT_NOT_FOUND");
      expectEnvelope(await join(stack, "0x10" as never, { user_id: "u" }), 422, "VALIDATION_ERROR");
    });

    test("before queue_opens_at: 409 QUEUE_NOT_OPEN", async () => {
      const p = await queueProduct(stack, { queue_opens_at: inSeconds(600) });
      expectEnvelope(await join(stack, p.id, { user_id: "early-bird" }), 409, "QUEUE_NOT_OPEN");
    });

    test("a body that is not JSON → 400, not application/json → 415", async () => {
      const p = await queueProduct(stack);
      expectEnvelope(await stack.http("POST", `/api/products/${p.id}/queue`, "{not json", { "content-type": "application/json" }), 400, "BAD_REQUEST");
      expectEnvelope(await stack.http("POST", `/api/products/${p.id}/queue`, "user_id=u", { "content-type": "application/x-www-form-urlencoded" }), 415, "BAD_REQUEST");
    });
  });

  describe("the line and its challenge", () => {
    test("GET /queue is the line: public, committed to its seed, no ticket ids", async () => {
      const p = await queueProduct(stack);
      await join(stack, p.id, { user_id: "counted" });
      const r = await stack.http("GET", `/api/products/${p.id}/queue`);
      expect(r.status).toBe(200);
      expect(isLine(r.body)).toBe(true);
      expect(r.body).toMatchObject({ product_id: p.id, access: "queue", seed: null, early_joiners: null, joined: 1, waiting: 1, paused: false });
      expect(r.body.seed_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(r.body)).not.toMatch(/ticket/);
    });

    test("GET /queue of an open product → 409 QUEUE_NOT_OPEN, of an unknown one → 404, of a bad id → 422", async () => {
      const open = await stack.createProduct({ stock: 3 });
      expectEnvelope(await stack.http("GET", `/api/products/${open.id}/queue`), 409, "QUEUE_NOT_OPEN");
      expectEnvelope(await stack.http("GET", "/api/products/2000000000/queue"), 404, "PRODUCT_NOT_FOUND");
      expectEnvelope(await stack.http("GET", "/api/products/1e3/queue"), 422, "VALIDATION_ERROR");
    });

    test("GET /queue/challenge is never a ticket: 404 NOT_FOUND while the product's challenge is off", async () => {
      const p = await queueProduct(stack);
      const r = await stack.http("GET", `/api/products/${p.id}/queue/challenge`);
      expectEnvelope(r, 404, "NOT_FOUND");
      expect(r.body.error.message).toBe("the challenge is off for this product");
      expectEnvelope(await stack.http("GET", "/api/products/2000000000/queue/challenge"), 404, "PRODUCT_NOT_FOUND");
    });
  });

  describe("one ticket", () => {
    test("GET answers the ticket; DELETE leaves it (200, `left`), and leaving again answers it as it is", async () => {
      const p = await queueProduct(stack);
      const t = (await join(stack, p.id, { user_id: "leaver" })).body;
      const read = await stack.http("GET", `/api/products/${p.id}/queue/${t.ticket_id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(t);
      const left = await stack.http("DELETE", `/api/products/${p.id}/queue/${t.ticket_id}`);
      expect(left.status).toBe(200);
      expect(isTicket(left.body)).toBe(true);
      expect(left.body).toMatchObject({ ticket_id: t.ticket_id, status: "left", position: null });
      expect((await stack.http("DELETE", `/api/products/${p.id}/queue/${t.ticket_id}`)).body.status).toBe("left");
      expect((await stack.http("GET", `/api/products/${p.id}/queue/${t.ticket_id}`)).body.status).toBe("left");
      // a buyer whose ticket ended joins again, at the back
      const back = await join(stack, p.id, { user_id: "leaver" });
      expect({ status: back.status, join_number: back.body.join_number, same: back.body.ticket_id === t.ticket_id }).toEqual({ status: 201, join_number: 1, same: false });
    });

    test.each([
      ["GET", ""], ["DELETE", ""], ["GET", "/events"],
    ])("%s a ticket%s: unknown → 404 TICKET_NOT_FOUND; not a ticket id → 422 naming ticket_id", async (method, tail) => {
      const p = await queueProduct(stack);
      expectEnvelope(await stack.http(method, `/api/products/${p.id}/queue/${UNKNOWN_TICKET}${tail}`), 404, "TICKET_NOT_FOUND");
      for (const bad of ["short", "x".repeat(65), "has.dots.in.it.so.no", "%00AAAAAAAAAAAAAAAAAAAAA"]) {
        const r = await stack.http(method, `/api/products/${p.id}/queue/${bad}${tail}`);
        expectEnvelope(r, 422, "VALIDATION_ERROR");
        expect(Object.keys(r.body.error.details.fields)).toEqual(["ticket_id"]);
      }
    });

    test("another product's ticket is not found under this product", async () => {
      const [a, b] = [await queueProduct(stack), await queueProduct(stack)];
      const t = (await join(stack, a.id, { user_id: "wrong-product" })).body;
      expectEnvelope(await stack.http("GET", `/api/products/${b.id}/queue/${t.ticket_id}`), 404, "TICKET_NOT_FOUND");
      expectEnvelope(await stack.http("DELETE", `/api/products/${b.id}/queue/${t.ticket_id}`), 404, "TICKET_NOT_FOUND");
      expect((await stack.http("GET", `/api/products/${a.id}/queue/${t.ticket_id}`)).body.status).toBe("waiting");
    });
  });

  describe("following a ticket (Server-Sent Events)", () => {
    const streams: SseClient[] = [];
    afterEach(() => {
      for (const s of streams.splice(0)) s.close();
    });
    const follow = async (productId: number, ticketId: string, headers: Record<string, string> = {}) => {
      const s = await openSse(`${stack.baseUrl}/api/products/${productId}/queue/${ticketId}/events`, headers);
      streams.push(s);
      return s;
    };

    test("the ticket at once, its leave pushed at once, then the stream ends", async () => {
      const p = await queueProduct(stack);
      const t = (await join(stack, p.id, { user_id: "follower" })).body;
      const s = await follow(p.id, t.ticket_id);
      expect(s.status).toBe(200);
      expect(s.headers["content-type"]).toMatch(/^text\/event-stream/);
      const first = await s.next((e) => e.event === "ticket");
      expect(first.data).toEqual(t);
      const leftAt = Date.now();
      await stack.http("DELETE", `/api/products/${p.id}/queue/${t.ticket_id}`);
      const left = await s.next((e) => e.data.status === "left");
      expect(left.at - leftAt).toBeLessThan(1000);
      await s.ended;
    });

    test("the draw places waiting tickets and admits the first; a leave moves the rest, each change pushed", async () => {
      const p = await queueProduct(stack, { stock: 1 }, 4);
      const tickets = [];
      for (const user of ["d-1", "d-2", "d-3"]) tickets.push((await join(stack, p.id, { user_id: user })).body);
      const watched = await Promise.all(tickets.map((t) => follow(p.id, t.ticket_id)));
      for (const s of watched) expect((await s.next((e) => e.event === "ticket")).data).toMatchObject({ status: "waiting", position: null });
      // the draw: one unit, so one entry; the other two are placed behind it
      const drawn = await Promise.all(watched.map((s) => s.next((e) => e.data.status === "admitted" || e.data.position !== null, 0, 15_000)));
      const admitted = drawn.findIndex((e) => e.data.status === "admitted");
      expect(admitted).toBeGreaterThanOrEqual(0);
      expect(drawn[admitted].data.entry_token).toEqual(expect.any(String));
      const waiting = drawn.map((e, i) => ({ i, position: e.data.position as number })).filter((_, i) => i !== admitted).sort((a, b) => a.position - b.position);
      expect(waiting.map((w) => w.position)).toEqual([1, 2]);
      // the admitted buyer leaves: the unit goes to the next, and the last moves up
      await stack.http("DELETE", `/api/products/${p.id}/queue/${tickets[admitted].ticket_id}`);
      const [next, last] = [watched[waiting[0].i], watched[waiting[1].i]];
      expect((await next.next((e) => e.data.status === "admitted", 0, 10_000)).data.entry_token).toEqual(expect.any(String));
      expect((await last.next((e) => e.data.position === 1, 0, 10_000)).data.status).toBe("waiting");
    });

    test("the product's stream shows an admission's units set aside with the admission, not at the next heartbeat", async () => {
      const p = await queueProduct(stack, { stock: 3 }, 1);
      const t = (await join(stack, p.id, { user_id: "aside" })).body;
      const product = await openSse(`${stack.baseUrl}/api/products/${p.id}/events`);
      streams.push(product);
      expect((await product.next((e) => e.event === "product")).data.stock_available).toBe(3);
      const admitted = await (await follow(p.id, t.ticket_id)).next((e) => e.data.status === "admitted", 0, 15_000);
      const aside = await product.next((e) => e.data.stock_available === 2, 0, 15_000);
      // the heartbeat (SSE_HEARTBEAT_MS, 10 s) would read the product again only by chance this soon
      expect(aside.at - admitted.at).toBeLessThan(1000);
    });

    test("HEAD answers the stream's headers and holds nothing", async () => {
      const p = await queueProduct(stack);
      const t = (await join(stack, p.id, { user_id: "header-only" })).body;
      const h = await fetch(`${stack.baseUrl}/api/products/${p.id}/queue/${t.ticket_id}/events`, { method: "HEAD" });
      expect({ status: h.status, type: h.headers.get("content-type"), body: await h.text() })
        .toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/), body: "" });
    });
  });

  describe("the operator's patch", () => {
    test("PATCH /api/admin/products/{id}/queue paces and pauses the line, and answers it", async () => {
      const p = await queueProduct(stack);
      const r = await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { admit_per_second: 5, paused: true }, admin);
      expect(r.status).toBe(200);
      expect(isLine(r.body)).toBe(true);
      expect(r.body).toMatchObject({ product_id: p.id, admit_per_second: 5, paused: true });
      const unbound = await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { admit_per_second: null, paused: false }, admin);
      expect(unbound.body).toMatchObject({ admit_per_second: null, paused: false });
      expect((await stack.http("GET", `/api/products/${p.id}/queue`)).body).toEqual(unbound.body);
    });

    test("without the admin token 401; a bad field 422; an unknown product 404; an open product 409", async () => {
      const p = await queueProduct(stack);
      expectEnvelope(await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { paused: true }), 401, "UNAUTHORIZED");
      expectEnvelope(await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, { paused: true }, { authorization: "Bearer nope" }), 401, "UNAUTHORIZED");
      for (const body of [{ admit_per_second: 0 }, { admit_per_second: 1.5 }, { admit_per_second: "5" }, { paused: "yes" }, { pause: true }]) {
        expectEnvelope(await stack.http("PATCH", `/api/admin/products/${p.id}/queue`, body, admin), 422, "VALIDATION_ERROR");
      }
      expect((await stack.http("GET", `/api/products/${p.id}/queue`)).body).toMatchObject({ paused: false });
      expectEnvelope(await stack.http("PATCH", "/api/admin/products/2000000000/queue", { paused: true }, admin), 404, "PRODUCT_NOT_FOUND");
      const open = await stack.createProduct({ stock: 1 });
      expectEnvelope(await stack.http("PATCH", `/api/admin/products/${open.id}/queue`, { paused: true }, admin), 409, "QUEUE_NOT_OPEN");
    });
  });

  describe("an order's Entry-Token", () => {
    const order = (body: Record<string, unknown>, headers: Record<string, string>) => stack.http("POST", "/api/orders", body, headers);
    const entryFor = (productId: number, buyer: string, o: { ticketId?: string; expiresIn?: number } = {}) =>
      entries.sign({ productId, buyer, ticketId: o.ticketId ?? UNKNOWN_TICKET, expiresAt: Math.floor(Date.now() / 1000) + (o.expiresIn ?? 120) });
    const claims = (productId: number, buyer: string) => ({ pid: productId, tid: UNKNOWN_TICKET, sub: buyer, exp: Math.floor(Date.now() / 1000) + 120 });

    describe("is refused at the gateway, without an Idempotency-Key: 403 ENTRY_INVALID saying why, nothing reserved", () => {
      let productId: number;
      beforeAll(async () => {
        productId = (await queueProduct(stack, { stock: 10 })).id;
      });
      afterEach(async () => {
        expect(await stockOf(stack, productId)).toBe(10);
      });

      test.each([
        ["forged (another key)", () => new EntryTokens("not-the-entry-secret-but-32-bytes-long!").sign({ productId, buyer: "b", ticketId: UNKNOWN_TICKET, expiresAt: Math.floor(Date.now() / 1000) + 60 }), /signature does not verify/],
        ["for another product", () => entryFor(productId + 1, "b"), /another product/],
        ["for another buyer", () => entryFor(productId, "someone-else"), /another buyer/],
        ["expired", () => entryFor(productId, "b", { expiresIn: -5 }), /expired/],
        ["alg: none", async () => unsigned({ sub: "b" }).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: "none", typ: "flash-entry+jwt" })).toString("base64url")), /not valid/],
        ["a buyer's JWT", () => hs256({ sub: "b" }, BUYER_SECRET), /not valid/],
        ["a JWT of the entry key without the entry's type", () => new SignJWT(claims(productId, "b")).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(stack.config.entryTokenSecret)), /not an entry token/],
        ["not a JWT at all", async () => "hello", /malformed/],
      ])("%s", async (_name, token, reason) => {
        const r = await order({ product_id: productId, qty: 1, user_id: "b" }, { "entry-token": await token() });
        expectEnvelope(r, 403, "ENTRY_INVALID");
        expect(r.body.error.message).toMatch(reason);
      });

      test("an order without user_id cannot be any entry's buyer", async () => {
        const r = await order({ product_id: productId, qty: 1 }, { "entry-token": await entryFor(productId, "b") });
        expectEnvelope(r, 403, "ENTRY_INVALID");
        expect(r.body.error.message).toMatch(/another buyer/);
      });
    });

    test("with an Idempotency-Key a refused entry goes to the inventory: ENTRY_INVALID with the reason, unless the key's order replays", async () => {
      const p = await queueProduct(stack, { stock: 3 });
      const refused = await order({ product_id: p.id, qty: 1, user_id: "keyed" }, { "entry-token": await entryFor(p.id, "keyed", { expiresIn: -5 }), "idempotency-key": `k-${p.id}` });
      expectEnvelope(refused, 403, "ENTRY_INVALID");
      expect(refused.body.error.message).toMatch(/expired/);
      expect(await stockOf(stack, p.id)).toBe(3);
    });

    test("an order without Entry-Token on a line's product → 403 ENTRY_REQUIRED", async () => {
      const p = await queueProduct(stack, { stock: 3 });
      expectEnvelope(await order({ product_id: p.id, qty: 1, user_id: "no-entry" }, {}), 403, "ENTRY_REQUIRED");
    });

    test("an admitted buyer orders with the entry (202), once: another order is 409 ENTRY_USED, a replay wins over an expired token, and a sold-out hint never refuses a valid entry", async () => {
      const p = await queueProduct(stack, { stock: 1 }, 2);
      const t = (await join(stack, p.id, { user_id: "admitted" })).body;
      const s = await openSse(`${stack.baseUrl}/api/products/${p.id}/queue/${t.ticket_id}/events`);
      const admitted = (await s.next((e) => e.data.status === "admitted", 0, 15_000)).data;
      s.close();
      // the gateway believes the product sold out (its units are set aside for the entry): the entry goes on regardless
      await stack.broker.broadcast(SOLD_OUT_EVENT, { product_id: p.id, max_per_order: 1, per_user_limit: 1, ends_at_ms: null });
      const headers = { "entry-token": admitted.entry_token, "idempotency-key": `entry-${p.id}` };
      const placed = await order({ product_id: p.id, qty: 1, user_id: "admitted" }, headers);
      expect(placed.status).toBe(202);
      const replay = await order({ product_id: p.id, qty: 1, user_id: "admitted" }, { ...headers, "entry-token": await entryFor(p.id, "admitted", { expiresIn: -5 }) });
      expect({ status: replay.status, order_id: replay.body.order_id, replayed: replay.headers.get("idempotent-replayed") })
        .toEqual({ status: 202, order_id: placed.body.order_id, replayed: "true" });
      expectEnvelope(await order({ product_id: p.id, qty: 1, user_id: "admitted" }, { "entry-token": admitted.entry_token, "idempotency-key": `again-${p.id}` }), 409, "ENTRY_USED");
      expect((await stack.http("GET", `/api/products/${p.id}/queue/${t.ticket_id}`)).body).toMatchObject({ status: "used", entry_token: null });
    });
  });
});

describe("BUYER_AUTH=jwt", () => {
  let stack: Stack;
  let productId: number;
  /** each test's requests come from an address of their own: the address's rate limit is the test's */
  let nextAddress = 10;
  const address = () => `127.0.0.${nextAddress++}`;
  beforeAll(async () => {
    stack = await startStack({ BUYER_AUTH: "jwt", BUYER_JWT_SECRET: BUYER_SECRET, RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "3" });
    productId = (await queueProduct(stack, { stock: 5 })).id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("the buyer is the token's sub: a body user_id must be absent or equal, else 403; no token 401", async () => {
    const at = address();
    const alice = bearer(await hs256({ sub: "alice" }));
    const joined = await from(stack, at, "POST", `/api/products/${productId}/queue`, {}, alice);
    expect(joined.status).toBe(201);
    expect(joined.body.user_id).toBe("alice");
    expect((await from(stack, at, "POST", `/api/products/${productId}/queue`, { user_id: "alice" }, alice)).status).toBe(200);
    expectEnvelope(await from(stack, address(), "POST", `/api/products/${productId}/queue`, { user_id: "bob" }, alice), 403, "FORBIDDEN");
    expectEnvelope(await from(stack, address(), "POST", `/api/products/${productId}/queue`, { user_id: "alice" }), 401, "UNAUTHORIZED");
    expectEnvelope(await from(stack, address(), "POST", `/api/products/${productId}/queue`, {}, bearer(unsigned({ sub: "alice" }))), 401, "UNAUTHORIZED");
  });

  test("a ticket is read, followed and left only by its buyer: 403 FORBIDDEN for another, 401 without a token", async () => {
    const at = address();
    const carol = bearer(await hs256({ sub: "carol" }));
    const dave = bearer(await hs256({ sub: "dave" }));
    const t = (await from(stack, at, "POST", `/api/products/${productId}/queue`, {}, carol)).body;
    const path = `/api/products/${productId}/queue/${t.ticket_id}`;
    expectEnvelope(await stack.http("GET", path, undefined, dave), 403, "FORBIDDEN");
    expectEnvelope(await stack.http("GET", path), 401, "UNAUTHORIZED");
    expectEnvelope(await stack.http("DELETE", path, undefined, dave), 403, "FORBIDDEN");
    const stranger = await openSse(`${stack.baseUrl}${path}/events`, dave);
    expect({ status: stranger.status, code: stranger.body?.error?.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await stack.http("GET", path, undefined, carol)).body).toMatchObject({ ticket_id: t.ticket_id, status: "waiting", user_id: "carol" });
    const own = await openSse(`${stack.baseUrl}${path}/events`, carol);
    expect((await own.next((e) => e.event === "ticket")).data.status).toBe("waiting");
    expect((await stack.http("DELETE", path, undefined, carol)).body.status).toBe("left");
    await own.ended;
    // the line, and the challenge's answer, stay public
    expect((await stack.http("GET", `/api/products/${productId}/queue`)).status).toBe(200);
    expectEnvelope(await stack.http("GET", `/api/products/${productId}/queue/challenge`), 404, "NOT_FOUND");
  });

  test("joins count against the buyer's rate limit, whatever the address, and the address's, whatever the buyer", async () => {
    const erin = bearer(await hs256({ sub: "erin" }));
    const byBuyer = [];
    for (let i = 0; i < 4; i++) byBuyer.push((await from(stack, address(), "POST", `/api/products/${productId}/queue`, {}, erin)).status);
    expect(byBuyer).toEqual([201, 200, 200, 429]);
    const at = address();
    const byAddress = [];
    for (let i = 0; i < 4; i++) byAddress.push((await from(stack, at, "POST", `/api/products/${productId}/queue`, {}, bearer(await hs256({ sub: `frank-${i}` })))).status);
    expect(byAddress).toEqual([201, 201, 201, 429]);
    const limited = await from(stack, at, "POST", `/api/products/${productId}/queue`, {}, bearer(await hs256({ sub: "frank-9" })));
    expectEnvelope(limited, 429, "RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  test("an entry is the token's sub's: another buyer's entry → 403 ENTRY_INVALID, the body's user_id no way around it", async () => {
    const entries = new EntryTokens(stack.config.entryTokenSecret);
    const token = await entries.sign({ productId, buyer: "gina", ticketId: UNKNOWN_TICKET, expiresAt: Math.floor(Date.now() / 1000) + 60 });
    const harry = bearer(await hs256({ sub: "harry" }));
    const r = await from(stack, address(), "POST", "/api/orders", { product_id: productId, qty: 1 }, { ...harry, "entry-token": token });
    expectEnvelope(r, 403, "ENTRY_INVALID");
    expect(r.body.error.message).toMatch(/another buyer/);
    expectEnvelope(await from(stack, address(), "POST", "/api/orders", { product_id: productId, qty: 1, user_id: "gina" }, { ...harry, "entry-token": token }), 403, "FORBIDDEN");
    // and an entry is never a buyer's token
    expectEnvelope(await stack.http("GET", `/api/products/${productId}/queue/${UNKNOWN_TICKET}`, undefined, bearer(token)), 401, "UNAUTHORIZED");
  });
});
