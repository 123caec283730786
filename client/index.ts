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
 *   // a product sold through a line: wait for a turn, then order with the entry (placeOrder's retries)
 *   const way = await joinLine(api, { product_id: 2 }, { onTicket: (t) => show(t.status, t.position, t.eta_seconds) });
 *   if (way.outcome === "ordered") show(way.order.order_id);          // else "sold_out", "lost", "expired", "left", "error"
 *
 * Never give the admin token to code that runs in a browser.
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";
import { serverSentEvents } from "./event-stream.ts";

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

export interface PlaceOrderOptions extends RetryOptions {
  /** one key per purchase (default: a new UUID); a retry with it never buys twice */
  idempotencyKey?: string;
  /** the `entry_token` of the buyer's admitted ticket: a `queue` or `draw` product's order needs it */
  entryToken?: string;
}

export interface RetryOptions {
  /** further attempts after a connection error, a 503 or a 429 (default 3) */
  retries?: number;
  /** the longest wait between attempts, in ms (default 5,000; the service's Retry-After is followed up to this) */
  maxDelayMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `send` again after a connection error, a 503 or a 429 (waiting as long as Retry-After
 * asks, up to maxDelayMs), at most `retries` more times: for requests that are safe to
 * repeat. The last answer is returned; the last connection error is thrown.
 */
async function withRetries<A extends { response: Response }>(send: () => Promise<A>, opts: RetryOptions): Promise<A> {
  const retries = opts.retries ?? 3;
  const maxDelay = opts.maxDelayMs ?? 5000;
  for (let attempt = 0; ; attempt++) {
    let retryAfterMs: number;
    try {
      const answer = await send();
      const status = answer.response.status;
      if ((status !== 503 && status !== 429) || attempt >= retries) return answer;
      retryAfterMs = Number(answer.response.headers.get("retry-after") ?? 1) * 1000;
    } catch (err) {
      // the request may or may not have arrived: only a request safe to repeat is sent again
      if (attempt >= retries) throw err;
      retryAfterMs = 2 ** attempt * 200;
    }
    await sleep(Math.min(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000, maxDelay));
  }
}

/**
 * POST /api/orders the way a client should: one Idempotency-Key for the purchase, retried
 * with that same key when the answer is lost or the service asks to come back later. The
 * answer is openapi-fetch's `{ data }` (202) or `{ error }` (the envelope, e.g. SOLD_OUT).
 */
export function placeOrder(client: FlashSaleClient, order: OrderRequest, opts: PlaceOrderOptions = {}) {
  const header = { "Idempotency-Key": opts.idempotencyKey ?? crypto.randomUUID(), ...(opts.entryToken ? { "Entry-Token": opts.entryToken } : {}) };
  return withRetries(() => client.POST("/api/orders", { body: order, params: { header } }), opts);
}

// ---- a product sold through a line (API.md, "Fair access") -------------------------

/** How a buyer's way through a line ended (`joinLine`, `followTicket`). */
export type LineOutcome =
  /** admitted, and the order placed with the entry (202) */
  | { outcome: "ordered"; ticket: Ticket; order: Reservation }
  /**
   * nothing is left for now; the ticket keeps its place, and units that come back go to
   * the line in order: `followTicket` again to wait for them
   */
  | { outcome: "sold_out"; ticket: Ticket }
  /** final: the sale ended first; the entry was not used in time; the buyer left */
  | { outcome: "lost" | "expired" | "left"; ticket: Ticket }
  /**
   * the service refused (the join, the ticket's stream or the order: `status` and its
   * envelope), or could not be reached, or the entry was used by an order placed elsewhere (`cause`)
   */
  | { outcome: "error"; ticket: Ticket | null; status: number | null; error: ErrorBody | null; cause?: unknown };

type LineError = Extract<LineOutcome, { outcome: "error" }>;

export interface FollowTicketOptions extends PlaceOrderOptions {
  /** units to order once admitted (default 1; at most the product's `per_entry`) */
  qty?: number;
  /** each state of the ticket as its stream tells it (position, ETA, status) */
  onTicket?: (ticket: Ticket) => void;
  /** keep following while the ticket reads `sold_out`, for units that may come back (default: return `sold_out`) */
  waitWhenSoldOut?: boolean;
  /** stops following (the promise rejects with the signal's reason); the ticket stays in line until left */
  signal?: AbortSignal;
}

export interface JoinLineRequest {
  product_id: number;
  /** the buyer with BUYER_AUTH=none (with jwt: the token's `sub`) */
  user_id?: string;
  /** a solved challenge, when the product asks one */
  challenge?: string;
}

/**
 * A buyer's whole way through a product's line: join it (safe to retry: a buyer holds one
 * live ticket), then `followTicket`.
 */
export async function joinLine(client: FlashSaleClient, join: JoinLineRequest, opts: FollowTicketOptions = {}): Promise<LineOutcome> {
  const { product_id, ...body } = join;
  const joined = await refusedOr(() => withRetries(() => client.POST("/api/products/{id}/queue", {
    params: { path: { id: product_id } }, body, signal: opts.signal,
  }), opts), null, opts.signal);
  if ("outcome" in joined) return joined;
  if (!joined.data) return { outcome: "error", ticket: null, status: joined.response.status, error: joined.error ?? null };
  return followTicket(client, joined.data, opts);
}

/**
 * Follows a ticket on its stream (reconnecting when the stream hands over or drops) until
 * it is admitted, then places the order with its entry (`placeOrder`'s retries, one
 * Idempotency-Key); or until it ends `lost`, `expired` or `left`, or reads `sold_out`.
 */
export async function followTicket(client: FlashSaleClient, ticket: Ticket, opts: FollowTicketOptions = {}): Promise<LineOutcome> {
  for await (const state of ticketStates(client, ticket, opts)) {
    if ("outcome" in state) return state;
    opts.onTicket?.(state);
    switch (state.status) {
      case "waiting":
        continue;
      case "sold_out":
        if (opts.waitWhenSoldOut) continue;
        return { outcome: "sold_out", ticket: state };
      case "admitted": {
        const order = { product_id: state.product_id, qty: opts.qty ?? 1, user_id: state.user_id };
        const placed = await refusedOr(() => placeOrder(client, order, { ...opts, entryToken: state.entry_token ?? undefined }), state);
        if ("outcome" in placed) return placed;
        if (placed.data) return { outcome: "ordered", ticket: state, order: placed.data };
        return { outcome: "error", ticket: state, status: placed.response.status, error: placed.error ?? null };
      }
      case "used":
        return { outcome: "error", ticket: state, status: null, error: null, cause: new Error("the ticket's entry was used by an order placed elsewhere") };
      default:
        return { outcome: state.status, ticket: state };
    }
  }
  throw new Error("unreachable: a ticket's states end with an outcome");
}

/** `request()`'s answer, or the error outcome of a connection that failed (an abort is thrown). */
async function refusedOr<A>(request: () => Promise<A>, ticket: Ticket | null, signal?: AbortSignal): Promise<A | LineError> {
  try {
    return await request();
  } catch (cause) {
    if (signal?.aborted) throw cause;
    return { outcome: "error", ticket, status: null, error: null, cause };
  }
}

/**
 * The states of a ticket from its event stream, the first at once; a new stream when one
 * ends before a final state (a hand-over: the current state comes first again). Ends with
 * an error outcome when the stream is refused or cannot be had.
 */
async function* ticketStates(client: FlashSaleClient, ticket: Ticket, opts: FollowTicketOptions): AsyncGenerator<Ticket | LineError> {
  const path = { id: ticket.product_id, ticket_id: ticket.ticket_id };
  let last = ticket;
  for (let empty = 0; ; ) {
    const opened = await refusedOr(() => withRetries(() => client.GET("/api/products/{id}/queue/{ticket_id}/events", {
      params: { path }, parseAs: "stream", signal: opts.signal,
    }), opts), last, opts.signal);
    if ("outcome" in opened) return yield opened;
    if (!opened.data) return yield { outcome: "error", ticket: last, status: opened.response.status, error: (opened.error as ErrorBody | undefined) ?? null };
    let seen = false;
    try {
      for await (const e of serverSentEvents(opened.data)) {
        if (e.event !== "ticket") continue;
        seen = true;
        yield (last = JSON.parse(e.data) as Ticket);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // the connection dropped: a new stream starts with the current state
    }
    // a stream that ends without telling anything, again and again, is not waited on forever
    empty = seen ? 0 : empty + 1;
    if (empty > (opts.retries ?? 3)) return yield { outcome: "error", ticket: last, status: null, error: null, cause: new Error("the ticket's stream ends without an event") };
    if (empty > 0) await sleep(Math.min(2 ** empty * 200, opts.maxDelayMs ?? 5000));
  }
}
