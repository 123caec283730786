/**
 * `POST /api/orders`, the gateway's hot route, answered before moleculer-web's router.
 *
 * In a drop nearly every request is this one, and most answers are "sold out". Through
 * moleculer-web each request costs three action calls in this process (its `rest`
 * action, a gateway action, then the inventory), body-parser and the route
 * machinery: measured, that was most of the node's CPU. Here the same contract costs
 * a share of one `broker.call("inventory.reserveMany")`: the requests of one product that
 * arrive in the same turn travel together, still routed by the Shard strategy on
 * `product_id`, each checked here against the schema of its requests — plus a bounded body read
 * (its Content-Type, UTF-8 and nesting depth checked as on every JSON route),
 * the buyer's token checked locally (./buyer-identity.ts, when BUYER_AUTH=jwt), the same
 * per-buyer rate limit and the same error envelope (`toHttpError`) as every other route.
 * A product this gateway knows to be sold out costs no call at all
 * (./sold-out-edge.ts), and without buyer tokens no promise either: the request is
 * admitted and answered in the body's `end` event, with bytes serialized once per flag,
 * and counted in plain numbers (./order-answers.ts; no `finish` listener). That
 * answer is most of a drop, so what it costs is what a gateway node can serve (bench/).
 * Everything else goes to moleculer-web.
 *
 * An order of a line's product carries its entry (API.md, "Fair access", rule 4):
 * the `Entry-Token` header is verified here, without a call (src/domain/entry-token.ts),
 * against the order's product and buyer, and its ticket goes to the reserve step, which
 * consumes the entry with the units. An entry that does not verify is 403 ENTRY_INVALID
 * at once, unless the request has an Idempotency-Key: a replay wins over the token, so
 * the refusal's reason goes to the reserve step, which answers the replay first. Neither
 * kind meets the sold-out edge: a valid entry was promised its units (rule 2). Without
 * the header nothing of this runs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import moleculer from "moleculer";
import { ERROR_STATUS, errorBody, errorOfValue, FlashError, isErrorValue, type ErrorValue } from "../../src/lib/errors.ts";
import { checkJsonContentType, JSON_CONTENT_TYPE, sendError } from "./http-envelope.ts";
import type { HttpAnswers } from "./http-answers.ts";
import { checkIdempotencyKey, checkOrderRequest, jsonBodyText } from "../../src/lib/params.ts";
import { MicroBatcher } from "./micro-batch.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { OrderAnswers } from "./order-answers.ts";
import type { SoldOutEdge } from "./sold-out-edge.ts";
import type { BuyerIdentity } from "./buyer-identity.ts";
import type { OrderRequest, ReserveManyRequest, ReserveOutcome } from "../../src/contracts/reservation.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import { EntryRefused, type EntryTokens } from "../../src/domain/entry-token.ts";

const { ValidationError } = moleculer.Errors;

export const BODY_LIMIT_BYTES = 16 * 1024;
export const ORDERS_PATH = "/api/orders";

type Logger = { error: (...args: unknown[]) => void };

export interface OrderRoute {
  /** Answers the request and returns true when it is `POST /api/orders`; false leaves it alone. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface OrderRouteDeps {
  broker: ServiceBroker;
  /** per buyer (`user_id`), and per address for anonymous requests */
  limits: { users: RateLimiter; addresses: RateLimiter };
  edge: SoldOutEdge;
  logger: Logger;
  requestTimeoutMs: number;
  /** reservations of one product sent in one call at most (RESERVE_BATCH_MAX) */
  batchMax: number;
  buyers: BuyerIdentity;
  /** the entry tokens of lines (ENTRY_TOKEN_SECRET): verified here */
  entries: EntryTokens;
  /** this route's answers for flash_order_answers_total / flash_order_duration_ms (null: no metrics) */
  answers: OrderAnswers | null;
  /** every HTTP answer by status (this route counts its own: no `finish` listener per request) */
  http: HttpAnswers;
}

/** What an order with an Entry-Token adds to its reservation request: the entry's ticket, or why its token was refused. */
type Entry = Pick<ReserveManyRequest, "entry_ticket"> | Pick<ReserveManyRequest, "entry_refused">;

/** An answer, serialized: the headers as Node's flat [name, value, …] list. */
interface Answer {
  status: number;
  headers: string[];
  payload: string;
  code: string;
}

export function orderRoute(deps: OrderRouteDeps): OrderRoute {
  const { broker, limits, edge, logger, requestTimeoutMs, batchMax, buyers, entries, answers, http } = deps;
  const anonymous = buyers.mode === "none";
  /**
   * The edge's refusals are the same object for every request of a flagged product
   * (SoldOutEdge keeps one per flag): serialized once, not per answer.
   */
  const serialized = new WeakMap<ReserveOutcome, Answer>();

  function record(status: number, code: string, startedAt: number): void {
    http.count(status);
    answers?.record(status, code, performance.now() - startedAt);
  }

  function send(res: ServerResponse, a: Answer, startedAt: number): void {
    if (res.headersSent) res.end();
    else {
      res.writeHead(a.status, a.headers);
      res.end(a.payload);
    }
    record(a.status, a.code, startedAt);
  }

  function fail(res: ServerResponse, err: unknown, startedAt: number): void {
    const code = sendError(res, err, logger.error.bind(logger), "POST /api/orders");
    record(res.statusCode, code, startedAt);
  }

  /** The request and its key, checked here (this hop's one validation); throws the 4xx of a bad request. */
  function admit(req: IncomingMessage, body: Buffer, buyer: string | null): { order: OrderRequest; idempotencyKey: string | null } {
    const params = buyers.bindOrderRequest(parseBody(req, body), buyer);
    let idempotencyKey: string | null = null;
    const key = req.headers["idempotency-key"];
    if (key !== undefined) {
      if (typeof key !== "string" || checkIdempotencyKey(key) !== true) {
        throw new FlashError("VALIDATION_ERROR", "Idempotency-Key must be 1..128 printable ASCII characters", {
          fields: { "Idempotency-Key": "1..128 printable ASCII characters" },
        });
      }
      idempotencyKey = key;
    }
    // Many buyers share an address behind NAT: limit per buyer, per address only for anonymous ones.
    const user = (params as { user_id?: unknown }).user_id;
    if (typeof user === "string" && user.length > 0 && user.length <= 64) limits.users.admit(user);
    else limits.addresses.admit(req.socket.remoteAddress ?? "unknown");
    // the schema of inventory.reserveMany's requests, and the same 422 as its validator's
    const check = checkOrderRequest(params);
    if (check !== true) throw new ValidationError("Parameters validation error!", "VALIDATION_ERROR", check);
    return { order: params as OrderRequest, idempotencyKey };
  }

  /** The answer: from this node when the edge knows it (without a promise when it is a plain refusal), else from the inventory. */
  function decide(req: IncomingMessage, body: Buffer, buyer: string | null): Answer | Promise<Answer> {
    const { order, idempotencyKey } = admit(req, body, buyer);
    const entryToken = req.headers["entry-token"];
    if (entryToken !== undefined) return withEntry(order, idempotencyKey, entryToken).then(answerOf);
    // a product known to be sold out is answered here, without a call to another node
    const hinted = edge.answer(order, idempotencyKey);
    if (hinted === null) return reserve(order, idempotencyKey).then(answerOf);
    if (!(hinted instanceof Promise)) {
      let a = serialized.get(hinted);
      if (a === undefined) serialized.set(hinted, (a = answerOf(hinted)));
      return a;
    }
    return hinted.then((outcome) => (outcome === null ? reserve(order, idempotencyKey) : outcome)).then(answerOf);
  }

  /**
   * The reservations of one product received in the same turn (up to RESERVE_BATCH_MAX)
   * go to its inventory node as one `inventory.reserveMany` call, and on as one script
   * call: one context, one validation, one message over NATS for the batch. The order
   * ids are chosen here so a resent call (a retry after an inventory node died) replays
   * these reservations; the deadline stops a call that arrives after we gave up.
   */
  const reservations = new MicroBatcher<number, ReserveManyRequest, ReserveOutcome | ErrorValue>(
    (productId, requests) => broker.call<Array<ReserveOutcome | ErrorValue>, object>("inventory.reserveMany", { product_id: productId, requests }, {
      meta: { deadline: Date.now() + requestTimeoutMs },
    }),
    batchMax,
  );

  /**
   * An order with an Entry-Token, to the inventory whatever the edge knows: with the entry's
   * ticket, or (keyed) the reason its token was refused; unkeyed, a refused token is 403 here.
   */
  async function withEntry(order: OrderRequest, idempotencyKey: string | null, token: string | string[]): Promise<ReserveOutcome> {
    let entry: Entry;
    try {
      if (typeof token !== "string") throw new EntryRefused("send one Entry-Token header");
      entry = { entry_ticket: (await entries.verify(token, { productId: order.product_id, buyer: order.user_id ?? "" })).ticketId };
    } catch (err) {
      if (!(err instanceof EntryRefused)) throw err;
      if (idempotencyKey === null) throw new FlashError("ENTRY_INVALID", err.message);
      entry = { entry_refused: err.message };
    }
    return reserve(order, idempotencyKey, entry);
  }

  async function reserve(order: OrderRequest, idempotencyKey: string | null, entry?: Entry): Promise<ReserveOutcome> {
    const sentAt = Date.now();
    const request: ReserveManyRequest = { qty: order.qty, user_id: order.user_id, order_id: newOrderId(order.product_id), idempotency_key: idempotencyKey };
    const answer = await reservations.add(order.product_id, entry === undefined ? request : Object.assign(request, entry));
    if (isErrorValue(answer)) throw errorOfValue(answer);
    if (!answer.ok && answer.soldOut) edge.soldOut(order.product_id, answer.soldOut, sentAt);
    return answer;
  }

  function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, startedAt: number): void {
    let a: Answer | Promise<Answer>;
    try {
      a = anonymous ? decide(req, body, null) : buyers.authenticate(req.headers.authorization).then((buyer) => decide(req, body, buyer));
    } catch (err) {
      return fail(res, err, startedAt);
    }
    if (a instanceof Promise) a.then((r) => send(res, r, startedAt), (err: unknown) => fail(res, err, startedAt));
    else send(res, a, startedAt);
  }

  return {
    handle(req, res) {
      if (req.method !== "POST" || !isOrdersPath(req.url)) return false;
      const startedAt = performance.now();
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > BODY_LIMIT_BYTES) {
        tooLarge(req, res, (err) => fail(res, err, startedAt));
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on("data", (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > BODY_LIMIT_BYTES) {
          over = true;
          tooLarge(req, res, (err) => fail(res, err, startedAt));
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => {
        if (!over) answer(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), startedAt);
      });
      req.on("error", () => {
        over = true;
        res.destroy();
      });
      return true;
    },
  };
}

/** The HTTP answer of an outcome (expected refusals come back as values: no Error, no stack). */
function answerOf(outcome: ReserveOutcome): Answer {
  if (!outcome.ok) {
    return json(ERROR_STATUS[outcome.code], [], errorBody(outcome.code, outcome.message, outcome.details), outcome.code);
  }
  const o = outcome.order;
  const headers = ["Location", `/api/orders/${o.order_id}`];
  if (outcome.replayed) headers.push("Idempotent-Replayed", "true");
  const body = {
    order_id: o.order_id, status: o.status, product_id: o.product_id, qty: o.qty,
    user_id: o.user_id, amount_cents: o.amount_cents, expires_at: o.expires_at,
  };
  return json(202, headers, body, "none");
}

function json(status: number, headers: string[], body: unknown, code: string): Answer {
  const payload = JSON.stringify(body);
  headers.push("Content-Type", JSON_CONTENT_TYPE, "Content-Length", String(Buffer.byteLength(payload)));
  return { status, headers, payload, code };
}

function isOrdersPath(url: string | undefined): boolean {
  if (!url || !url.startsWith(ORDERS_PATH)) return false;
  const rest = url.length === ORDERS_PATH.length ? "" : url[ORDERS_PATH.length];
  return rest === "" || rest === "?";
}

/** Answers 413 and stops reading: the rest of the body is discarded, the connection closed. */
function tooLarge(req: IncomingMessage, res: ServerResponse, fail: (err: unknown) => void): void {
  res.shouldKeepAlive = false;
  fail(Object.assign(new Error("the request body is larger than 16 KiB"), { type: "entity.too.large" }));
  req.resume();
}

/** The last Content-Type found acceptable: a client sends the same one every time, checked once. */
let acceptedType: string | undefined;

/**
 * The body as JSON: only an object or an array (like body-parser's strict mode), sent as
 * application/json, UTF-8, no content coding, nested no deeper than MAX_JSON_DEPTH.
 */
function parseBody(req: IncomingMessage, body: Buffer): unknown {
  const type = req.headers["content-type"];
  if (type === undefined || type !== acceptedType) {
    checkJsonContentType(type);
    acceptedType = type;
  }
  const coding = req.headers["content-encoding"];
  if (coding !== undefined && coding.toLowerCase() !== "identity") {
    throw Object.assign(new Error("the body must be JSON in UTF-8, without content encoding"), { type: "media.unsupported" });
  }
  const text = jsonBodyText(body);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw Object.assign(new Error("the request body is not valid JSON"), { type: "entity.parse.failed" });
  }
  if (value === null || typeof value !== "object") {
    throw new FlashError("BAD_REQUEST", "the request body must be a JSON object");
  }
  return value;
}
