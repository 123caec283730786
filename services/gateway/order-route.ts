/**
 * `POST /api/orders`, the gateway's hot route, answered before moleculer-web's router.
 *
 * In a drop nearly every request is this one, and most answers are "sold out". Through
 * moleculer-web each request costs three action calls in this process (its `rest`
 * action, a gateway action, then `inventory.reserve`), body-parser and the route
 * machinery: measured, that was most of the node's CPU. Here the same contract costs
 * one `broker.call("inventory.reserve")` — still routed by the Shard strategy on
 * `product_id`, validated once by the inventory's `params` — plus a bounded body read,
 * the buyer's token checked locally (./buyer-identity.ts, when BUYER_AUTH=jwt), the same
 * per-buyer rate limit and the same error envelope (`toHttpError`) as every other route.
 * A product this gateway knows to be sold out costs no call at all
 * (src/lib/sold-out-edge.ts). Everything else goes to moleculer-web.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import { ERROR_STATUS, errorBody, FlashError } from "../../src/lib/errors.ts";
import { sendError, sendJson } from "../../src/lib/http-envelope.ts";
import { checkIdempotencyKey, MAX_INT, utf8Body } from "../../src/lib/params.ts";
import type { RateLimiter } from "../../src/lib/rate-limiter.ts";
import { orderAnswerRecorder } from "../../src/lib/metrics.ts";
import type { SoldOutEdge } from "../../src/lib/sold-out-edge.ts";
import type { BuyerIdentity } from "./buyer-identity.ts";
import type { OrderRequest, ReserveOutcome } from "../../src/domain/reservation.ts";
import { newOrderId } from "../../src/domain/order-id.ts";

export const BODY_LIMIT_BYTES = 16 * 1024;
export const ORDERS_PATH = "/api/orders";
const JSON_TYPE_RE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const CHARSET_RE = /;\s*charset\s*=\s*"?([\w-]+)"?/i;

type Logger = { error: (...args: unknown[]) => void };

export interface OrderRoute {
  /** Answers the request and returns true when it is `POST /api/orders`; false leaves it alone. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function orderRoute(
  broker: ServiceBroker, limiter: RateLimiter, edge: SoldOutEdge, logger: Logger, requestTimeoutMs: number, buyers: BuyerIdentity,
): OrderRoute {
  // counted per answer for GET /metrics and the dashboard (flash_order_answers_total, flash_order_duration_ms)
  const record = orderAnswerRecorder(broker.isMetricsEnabled() ? (broker.metrics as never) : null);

  async function place(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: unknown; code: string }> {
    const buyer = await buyers.authenticate(req.headers.authorization);
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
    const decision = limiter.take(
      typeof user === "string" && user.length > 0 && user.length <= 64 ? `u:${user}` : `ip:${req.socket.remoteAddress ?? "unknown"}`,
    );
    if (!decision.allowed) {
      throw new FlashError("RATE_LIMITED", "too many requests, slow down", { retry_after: decision.retryAfterSeconds });
    }
    // a product known to be sold out is answered here, without a call to another node
    const hinted = edge.answer(params, idempotencyKey);
    let outcome = hinted === null ? null : await hinted;
    if (outcome === null) {
      const sentAt = Date.now();
      // validated once, by inventory.reserve's `params` (the same schema for every caller).
      // The order id is chosen here so a resent call (a retry after an inventory node died)
      // replays this reservation; the deadline stops a call that arrives after we gave up.
      const pid = (params as { product_id?: unknown }).product_id;
      const orderId = typeof pid === "number" && Number.isInteger(pid) && pid >= 1 && pid <= MAX_INT ? newOrderId(pid) : undefined;
      outcome = await broker.call<ReserveOutcome, OrderRequest>("inventory.reserve", params as OrderRequest, {
        meta: { idempotencyKey, orderId, deadline: Date.now() + requestTimeoutMs },
      });
      if (!outcome.ok && outcome.soldOut) edge.soldOut((params as OrderRequest).product_id, outcome.soldOut, sentAt);
    }
    // expected refusals (sold out, limits) come back as values: no Error, no stack
    if (!outcome.ok) {
      return { status: ERROR_STATUS[outcome.code], headers: {}, body: errorBody(outcome.code, outcome.message, outcome.details), code: outcome.code };
    }
    const o = outcome.order;
    const headers: Record<string, string> = { Location: `/api/orders/${o.order_id}` };
    if (outcome.replayed) headers["Idempotent-Replayed"] = "true";
    return {
      status: 202,
      headers,
      body: {
        order_id: o.order_id, status: o.status, product_id: o.product_id, qty: o.qty,
        user_id: o.user_id, amount_cents: o.amount_cents, expires_at: o.expires_at,
      },
      code: "none",
    };
  }

  const failWith = (startedAt: number) => (res: ServerResponse, err: unknown) => {
    const code = sendError(res, err, logger.error.bind(logger), "POST /api/orders");
    record(res.statusCode, code, startedAt);
  };

  return {
    handle(req, res) {
      if (req.method !== "POST" || !isOrdersPath(req.url)) return false;
      const startedAt = performance.now();
      const fail = failWith(startedAt);
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > BODY_LIMIT_BYTES) {
        tooLarge(req, res, fail);
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
          tooLarge(req, res, fail);
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => {
        if (over) return;
        place(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)).then(
          (r) => {
            sendJson(res, r.status, r.headers, r.body);
            record(r.status, r.code, startedAt);
          },
          (err) => fail(res, err),
        );
      });
      req.on("error", () => {
        over = true;
        res.destroy();
      });
      return true;
    },
  };
}

function isOrdersPath(url: string | undefined): boolean {
  if (!url || !url.startsWith(ORDERS_PATH)) return false;
  const rest = url.length === ORDERS_PATH.length ? "" : url[ORDERS_PATH.length];
  return rest === "" || rest === "?";
}

/** Answers 413 and stops reading: the rest of the body is discarded, the connection closed. */
function tooLarge(req: IncomingMessage, res: ServerResponse, fail: (res: ServerResponse, err: unknown) => void): void {
  res.shouldKeepAlive = false;
  fail(res, Object.assign(new Error("the request body is larger than 16 KiB"), { type: "entity.too.large" }));
  req.resume();
}

const unsupported = (message: string) => Object.assign(new Error(message), { type: "media.unsupported" });

/** The body as JSON: only an object or an array (like body-parser's strict mode), UTF-8, no content coding. */
function parseBody(req: IncomingMessage, body: Buffer): unknown {
  const type = req.headers["content-type"];
  if (type !== undefined && !JSON_TYPE_RE.test(type)) {
    throw unsupported("Content-Type must be application/json");
  }
  const charset = type && CHARSET_RE.exec(type)?.[1];
  const coding = req.headers["content-encoding"];
  if ((charset && !/^utf-?8$/i.test(charset)) || (coding !== undefined && coding.toLowerCase() !== "identity")) {
    throw unsupported("the body must be JSON in UTF-8, without content encoding");
  }
  const text = utf8Body(body);
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
