/**
 * The typed client of the flash-sale API, for a shop's frontend or backend.
 *
 * The types (./schema.d.ts) are generated from the service's OpenAPI document, so every
 * path, body, answer and error code is checked by the compiler; the calls are openapi-fetch
 * (a thin layer over `fetch`, no other dependency). Tokens are attached by path: the admin
 * token to /api/admin/* only, the buyer's token to the order endpoints and a line's
 * (joining it, and one ticket) only.
 *
 *   import { createFlashSaleClient, placeOrder } from "./client/index.ts";   // from the repository's root
 *   const api = createFlashSaleClient({ baseUrl: "https://shop.example", buyerToken: () => session.jwt });
 *   const { data: product } = await api.GET("/api/products/{id}", { params: { path: { id: 1 } } });
 *   const order = await placeOrder(api, { product_id: 1, qty: 1 });   // retried safely with one Idempotency-Key
 *   if (order.data) await api.GET("/api/orders/{id}", { params: { path: { id: order.data.order_id } } });
 *   else console.log(order.error.error.code);                          // "SOLD_OUT", "LIMIT_EXCEEDED", ...
 *
 * Never give the admin token to code that runs in a browser.
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

export type { components, paths };
export type Product = components["schemas"]["Product"];
export type Reservation = components["schemas"]["Reservation"];
export type Order = components["schemas"]["Order"];
export type Audit = components["schemas"]["Audit"];
export type Ticket = components["schemas"]["Ticket"];
export type Line = components["schemas"]["Line"];
export type ErrorBody = components["schemas"]["Error"];
export type ErrorCode = components["schemas"]["ErrorCode"];
export type OrderRequest = paths["/api/orders"]["post"]["requestBody"]["content"]["application/json"];
export type FlashSaleClient = Client<paths>;

type Token = string | (() => string | Promise<string>);

export interface FlashSaleClientOptions {
  /** where the service answers, e.g. "https://shop.example" (no trailing /api) */
  baseUrl: string;
  /** the buyer's JWT when the service runs with BUYER_AUTH=jwt; a function is asked before each call (tokens expire) */
  buyerToken?: Token;
  /** ADMIN_TOKEN, for a shop's backend only */
  adminToken?: Token;
  /** a fetch of your own (tests, instrumentation, a proxy agent) */
  fetch?: (request: Request) => Promise<Response>;
}

/** joining a line, and one ticket of it (the line itself and its challenge are public) */
const isBuyerLinePath = (p: string) => p === "/api/products/{id}/queue" || p.startsWith("/api/products/{id}/queue/{ticket_id}");

const tokenOf = async (t: Token | undefined) => (typeof t === "function" ? t() : t);

export function createFlashSaleClient(options: FlashSaleClientOptions): FlashSaleClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ""), fetch: options.fetch });
  client.use({
    async onRequest({ request, schemaPath }) {
      const token = schemaPath.startsWith("/api/admin/") ? await tokenOf(options.adminToken)
        : schemaPath.startsWith("/api/orders") || isBuyerLinePath(schemaPath) ? await tokenOf(options.buyerToken)
        : undefined;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

export interface PlaceOrderOptions {
  /** one key per purchase (default: a new UUID); a retry with it never buys twice */
  idempotencyKey?: string;
  /** further attempts after a connection error, a 503 or a 429 (default 3) */
  retries?: number;
  /** the longest wait between attempts, in ms (default 5,000; the service's Retry-After is followed up to this) */
  maxDelayMs?: number;
}

/**
 * POST /api/orders the way a client should: one Idempotency-Key for the purchase, retried
 * with that same key when the answer is lost or the service asks to come back later. The
 * answer is openapi-fetch's `{ data }` (202) or `{ error }` (the envelope, e.g. SOLD_OUT).
 */
export async function placeOrder(client: FlashSaleClient, order: OrderRequest, opts: PlaceOrderOptions = {}) {
  const key = opts.idempotencyKey ?? crypto.randomUUID();
  const retries = opts.retries ?? 3;
  const maxDelay = opts.maxDelayMs ?? 5000;
  for (let attempt = 0; ; attempt++) {
    let retryAfterMs: number;
    try {
      const answer = await client.POST("/api/orders", { body: order, params: { header: { "Idempotency-Key": key } } });
      const status = answer.response.status;
      if ((status !== 503 && status !== 429) || attempt >= retries) return answer;
      retryAfterMs = Number(answer.response.headers.get("retry-after") ?? 1) * 1000;
    } catch (err) {
      // the request may or may not have arrived: only the same key makes a retry safe
      if (attempt >= retries) throw err;
      retryAfterMs = 2 ** attempt * 200;
    }
    await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000, maxDelay)));
  }
}
