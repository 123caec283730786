/**
 * The contract through the typed client (client/index.ts), as a shop's backend and a
 * buyer's frontend use it, with BUYER_AUTH=jwt: the admin creates a product, a buyer buys
 * and reads the order. Every answer is checked against the schema the OpenAPI document
 * publishes for it (services/gateway/openapi/answers.ts), so the documented answers are the real ones.
 * A buyer's way through a line (joinLine / followTicket): admitted when the sale starts and
 * ordering with the entry, a lost answer retried, a sold-out line, leaving.
 */
import { createFlashSaleClient, joinLine, placeOrder, type FlashSaleClient, type Ticket } from "../../client/index.ts";
import { auditAnswer, healthAnswer, orderAnswer, productAnswer, reservationAnswer, ticketAnswer } from "../../services/gateway/openapi/answers.ts";
import { compileCheck } from "../../src/lib/params.ts";
import { startStack, ADMIN_TOKEN, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten } from "../support/orders.ts";
import { BUYER_SECRET, hs256 } from "../support/buyer-tokens.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ BUYER_AUTH: "jwt", BUYER_JWT_SECRET: BUYER_SECRET });
  await listenForEvents(stack.broker);
});
afterAll(async () => {
  await stack?.stop();
});

const conforms = (schema: object, value: unknown) => expect(compileCheck(schema)(structuredClone(value))).toBe(true);

test("the admin creates a product, a buyer buys it and reads the order, each answer as documented", async () => {
  const admin = createFlashSaleClient({ baseUrl: stack.baseUrl, adminToken: ADMIN_TOKEN });
  const created = await admin.POST("/api/admin/products", {
    body: { name: "Console", price_cents: 49_900, stock: 3, per_user_limit: 1, max_per_order: 1 },
  });
  expect(created.response.status).toBe(201);
  const product = created.data!;
  conforms(productAnswer, product);
  expect(product).toMatchObject({ name: "Console", stock_total: 3, stock_available: 3, per_user_limit: 1 });

  const buyer = createFlashSaleClient({ baseUrl: stack.baseUrl, buyerToken: () => hs256({ sub: "shopper-1" }) });
  const read = await buyer.GET("/api/products/{id}", { params: { path: { id: product.id } } });
  conforms(productAnswer, read.data);

  const bought = await placeOrder(buyer, { product_id: product.id, qty: 1 }, { idempotencyKey: `typed-${product.id}` });
  expect(bought.response.status).toBe(202);
  conforms(reservationAnswer, bought.data);
  expect(bought.data).toMatchObject({ product_id: product.id, qty: 1, user_id: "shopper-1", amount_cents: 49_900 });

  // the same purchase retried with its key: the same order, nothing more reserved
  const again = await placeOrder(buyer, { product_id: product.id, qty: 1 }, { idempotencyKey: `typed-${product.id}` });
  expect(again.response.headers.get("idempotent-replayed")).toBe("true");
  expect(again.data?.order_id).toBe(bought.data!.order_id);

  const limited = await placeOrder(buyer, { product_id: product.id, qty: 1 });
  expect(limited.response.status).toBe(409);
  expect(limited.error?.error?.code).toBe("LIMIT_EXCEEDED");

  const id = bought.data!.order_id;
  await rowsWritten(stack, [id]);
  const order = (await buyer.GET("/api/orders/{id}", { params: { path: { id } } })).data;
  conforms(orderAnswer, order);
  expect(order).toMatchObject({ order_id: id, product_id: product.id, user_id: "shopper-1", status: "pending" });

  const stranger = createFlashSaleClient({ baseUrl: stack.baseUrl, buyerToken: () => hs256({ sub: "shopper-2" }) });
  const refused = await stranger.GET("/api/orders/{id}", { params: { path: { id } } });
  expect([refused.response.status, refused.error?.error?.code]).toEqual([403, "FORBIDDEN"]);

  const left = await admin.GET("/api/products/{id}", { params: { path: { id: product.id } } });
  expect(left.data?.stock_available).toBe(2);

  const audit = await admin.GET("/api/admin/audit");
  conforms(auditAnswer, audit.data);
  expect(audit.data?.products.find((p) => p.id === product.id)).toMatchObject({ reserved: 1, pending: 1, consistent: true });
  const health = await admin.GET("/health");
  conforms(healthAnswer, health.data);
});

test("the admin token goes only to admin paths, the buyer token only to order paths", async () => {
  const seen: Array<[string, string | null]> = [];
  const client = createFlashSaleClient({
    baseUrl: stack.baseUrl, adminToken: "admin-secret", buyerToken: "buyer-jwt",
    fetch: async (request) => {
      seen.push([new URL(request.url).pathname, request.headers.get("authorization")]);
      return new Response(JSON.stringify({ error: { code: "NOT_FOUND", message: "x" } }), { status: 404, headers: { "content-type": "application/json" } });
    },
  });
  await client.GET("/api/admin/audit");
  await client.GET("/api/products/{id}", { params: { path: { id: 1 } } });
  await client.GET("/api/orders/{id}", { params: { path: { id: "00000000-0000-4000-8000-000000000000" } } });
  expect(seen).toEqual([
    ["/api/admin/audit", "Bearer admin-secret"],
    ["/api/products/1", null],
    ["/api/orders/00000000-0000-4000-8000-000000000000", "Bearer buyer-jwt"],
  ]);
});

describe("a product sold through a line", () => {
  const admin = () => createFlashSaleClient({ baseUrl: stack.baseUrl, adminToken: ADMIN_TOKEN });
  const buyerClient = (sub: string, fetch?: (request: Request) => Promise<Response>) =>
    createFlashSaleClient({ baseUrl: stack.baseUrl, buyerToken: () => hs256({ sub }), fetch });
  /** a queue whose order is drawn (and admissions begin) `drawIn` seconds from now */
  async function queueProduct(stock: number, drawIn: number) {
    const created = await admin().POST("/api/admin/products", {
      body: { name: "Sneaker", price_cents: 12_000, stock, per_user_limit: 1, max_per_order: 1, access: "queue", sale_starts_at: new Date(Date.now() + drawIn * 1000).toISOString() },
    });
    expect(created.response.status).toBe(201);
    return created.data!;
  }
  const stockOf = async (api: FlashSaleClient, id: number) => (await api.GET("/api/products/{id}", { params: { path: { id } } })).data?.stock_available;

  test("joinLine waits in line, is admitted when the sale starts and orders with the entry (202); the ticket is then used", async () => {
    const p = await queueProduct(2, 1);
    const buyer = buyerClient("line-buyer-1");
    const seen: Ticket[] = [];
    const outcome = await joinLine(buyer, { product_id: p.id }, { onTicket: (t) => seen.push(t) });
    if (outcome.outcome !== "ordered") throw new Error(`not ordered: ${JSON.stringify(outcome)}`);
    conforms(reservationAnswer, outcome.order);
    expect(outcome.order).toMatchObject({ product_id: p.id, qty: 1, user_id: "line-buyer-1", amount_cents: 12_000 });
    for (const t of seen) conforms(ticketAnswer, t);
    expect(seen.map((t) => t.status)).toEqual([...seen.slice(1).map(() => "waiting"), "admitted"]);
    expect(outcome.ticket).toBe(seen.at(-1));
    expect(outcome.ticket.entry_token).toEqual(expect.any(String));
    const ticket = await buyer.GET("/api/products/{id}/queue/{ticket_id}", { params: { path: { id: p.id, ticket_id: outcome.ticket.ticket_id } } });
    expect(ticket.data).toMatchObject({ status: "used", entry_token: null });
    expect(await stockOf(buyer, p.id)).toBe(1);
  });

  test("the entry's order whose answer is lost is sent again with the same Idempotency-Key and entry: one order, replayed", async () => {
    const p = await queueProduct(2, 1);
    const sent: Array<{ key: string | null; entry: string | null; answer: { order_id?: string } }> = [];
    const buyer = buyerClient("line-buyer-2", async (request) => {
      const answer = await fetch(request);
      if (new URL(request.url).pathname !== "/api/orders") return answer;
      sent.push({ key: request.headers.get("idempotency-key"), entry: request.headers.get("entry-token"), answer: await answer.clone().json() });
      if (sent.length === 1) throw new TypeError("fetch failed"); // the order arrived, its answer did not
      return answer;
    });
    const outcome = await joinLine(buyer, { product_id: p.id });
    if (outcome.outcome !== "ordered") throw new Error(`not ordered: ${JSON.stringify(outcome)}`);
    expect(sent).toHaveLength(2);
    expect(sent[1].key).toBe(sent[0].key);
    expect(sent.map((s) => s.entry)).toEqual([outcome.ticket.entry_token, outcome.ticket.entry_token]);
    expect(outcome.order.order_id).toBe(sent[0].answer.order_id);
    expect(await stockOf(buyer, p.id)).toBe(1);
  });

  test("a line with nothing to sell: joinLine answers sold_out with the first state, and the ticket keeps its place", async () => {
    const p = await queueProduct(0, 60);
    const buyer = buyerClient("line-buyer-3");
    const seen: Ticket[] = [];
    const outcome = await joinLine(buyer, { product_id: p.id }, { onTicket: (t) => seen.push(t) });
    expect(outcome).toMatchObject({ outcome: "sold_out", ticket: { status: "sold_out", user_id: "line-buyer-3" } });
    expect(seen).toHaveLength(1);
    const ticket = await buyer.GET("/api/products/{id}/queue/{ticket_id}", { params: { path: { id: p.id, ticket_id: seen[0].ticket_id } } });
    expect(ticket.data?.status).toBe("sold_out");
  });

  test("a buyer who leaves the line while followTicket follows it: the outcome is left", async () => {
    const p = await queueProduct(2, 3600);
    const buyer = buyerClient("line-buyer-4");
    const outcome = await joinLine(buyer, { product_id: p.id }, {
      onTicket: (t) => {
        if (t.status === "waiting") void buyer.DELETE("/api/products/{id}/queue/{ticket_id}", { params: { path: { id: p.id, ticket_id: t.ticket_id } } });
      },
    });
    expect(outcome).toMatchObject({ outcome: "left", ticket: { status: "left", position: null } });
  });
});
