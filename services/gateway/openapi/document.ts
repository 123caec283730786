/**
 * The OpenAPI 3.1 document of API.md, served at GET /api/openapi.json.
 *
 * Every input schema is the fastest-validator schema the gateway and the services validate
 * with (../params.ts, the Idempotency-Key rule included), every answer the schema the
 * contract tests check answers against (./answers.ts), every error code one of
 * ../errors.ts: converted by ./json-schema.ts, nothing restated by hand. What is written
 * here is what only prose can say (summaries), and which operation answers which errors.
 */
import { ERROR_STATUS, type ErrorCode } from "../../../src/lib/errors.ts";
import {
  createProductParams, idempotencyKeyRule, joinLineParams, orderIdPathParams, patchLineParams, paymentEventParams, placeOrderParams, productIdPathParams,
  restockParams, ticketPathParams,
} from "../../../src/lib/params.ts";
import {
  auditAnswer, challengeAnswer, healthAnswer, lineAnswer, orderAnswer, productAnswer, reservationAnswer, ticketAnswer, webhookAnswer,
} from "./answers.ts";
import { objectSchema, ruleSchema, type JsonSchema } from "./json-schema.ts";

/** An error an operation can answer: its code, and the status when it is not the code's usual one. */
type ErrorAnswer = ErrorCode | [ErrorCode, number];

interface Operation {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** the fastest-validator schema of the path parameters and/or the JSON body */
  params?: Record<string, unknown>;
  /** which fields of `params` are path parameters (the rest is the body) */
  pathFields?: string[];
  /** header parameters, as fastest-validator rules */
  headers?: Record<string, { rule: unknown; description: string }>;
  body?: { required: boolean; description?: string };
  security?: Array<Record<string, string[]>>;
  ok: Record<number, { description: string; schema?: string | JsonSchema; mediaType?: string; headers?: Record<string, string> }>;
  errors: ErrorAnswer[];
}

const JSON_TYPE = "application/json";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const BODY_ERRORS: ErrorAnswer[] = ["BAD_REQUEST", ["BAD_REQUEST", 413], ["BAD_REQUEST", 415], "VALIDATION_ERROR"];
const ADMIN: Array<Record<string, string[]>> = [{ adminToken: [] }];
/** BUYER_AUTH=jwt: a buyer token; BUYER_AUTH=none (the default): nothing */
const BUYER: Array<Record<string, string[]>> = [{ buyerToken: [] }, {}];
const BUYER_ERRORS: ErrorAnswer[] = ["UNAUTHORIZED", "FORBIDDEN"];
/** the errors of every route about one ticket of a line */
const TICKET_ERRORS: ErrorAnswer[] = [...BUYER_ERRORS, "TICKET_NOT_FOUND", "VALIDATION_ERROR", "UNAVAILABLE"];
const SSE_NOTE = "`text/event-stream`, one JSON object per `data:` line, a comment line at least every 15 s; a reconnecting client gets the current state first.";

const OPERATIONS: Operation[] = [
  {
    method: "get", path: "/api/products/{id}", tag: "products", summary: "A product and its live stock",
    params: productIdPathParams, pathFields: ["id"],
    ok: { 200: { description: "the product; `stock_available` is read from the inventory shard", schema: "Product" } },
    errors: ["PRODUCT_NOT_FOUND", "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/products/{id}/events", tag: "products", summary: "Live stock and sale state (Server-Sent Events)",
    description: `Event \`product\` with the product at once and whenever \`stock_available\` or the sale state changes, coalesced to a few per second. ${SSE_NOTE}`,
    params: productIdPathParams, pathFields: ["id"],
    ok: { 200: { description: "an event stream of `product` events", mediaType: "text/event-stream", schema: { type: "string" } } },
    errors: ["PRODUCT_NOT_FOUND", "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/products/{id}/queue", tag: "line", summary: "Join the product's line (a queue or a draw)",
    description: "201 with a new ticket, or 200 with the buyer's live ticket (`waiting`, `admitted` or `sold_out`): one per buyer and product; a buyer whose ticket ended joins again at the back. " +
      "With `BUYER_AUTH=none`, `user_id` is required; with `BUYER_AUTH=jwt` the buyer is the token's `sub` and a `user_id` must be absent or equal to it. " +
      "`challenge`: ALTCHA's base64 payload of a solved challenge, needed when the product's `challenge` is on. Counts against the buyer's and the address's rate limits. " +
      "The `ticket_id` is the buyer's secret: keep it.",
    params: joinLineParams, pathFields: ["id"], body: { required: true }, security: BUYER,
    ok: {
      201: { description: "joined: a new ticket", schema: "Ticket", headers: { Location: "/api/products/{id}/queue/{ticket_id}" } },
      200: { description: "the buyer's live ticket, as it is", schema: "Ticket", headers: { Location: "/api/products/{id}/queue/{ticket_id}" } },
    },
    errors: [...BODY_ERRORS, ...BUYER_ERRORS, "PRODUCT_NOT_FOUND", "QUEUE_NOT_OPEN", "QUEUE_CLOSED", "CHALLENGE_FAILED", "RATE_LIMITED", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/products/{id}/queue", tag: "line", summary: "The product's line: its seed commitment, draw and counts (public, no ticket ids)",
    description: "`seed_sha256` is published from the first moment, `seed` once the order is drawn: with `early_joiners` and a join number, anyone recomputes that ticket's place (`algorithm`).",
    params: productIdPathParams, pathFields: ["id"],
    ok: { 200: { description: "the line", schema: "Line" } },
    errors: ["PRODUCT_NOT_FOUND", "QUEUE_NOT_OPEN", "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/products/{id}/queue/challenge", tag: "line", summary: "A proof-of-work challenge to join the line (when the product's `challenge` is on)",
    description: "ALTCHA's SHA-256 challenge: find `number` ≤ `maxnumber` whose hex SHA-256 of `salt + number` is `challenge`; bound to the product, good for 5 minutes, a solution for one join. 404 `NOT_FOUND` when the product's challenge is off.",
    params: productIdPathParams, pathFields: ["id"],
    ok: { 200: { description: "a challenge", schema: "Challenge" } },
    errors: ["PRODUCT_NOT_FOUND", ["NOT_FOUND", 404], "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/products/{id}/queue/{ticket_id}", tag: "line", summary: "A ticket: its status, position and, once admitted, its entry",
    description: "With `BUYER_AUTH=jwt`, only for its buyer.",
    params: ticketPathParams, pathFields: ["id", "ticket_id"], security: BUYER,
    ok: { 200: { description: "the ticket", schema: "Ticket" } },
    errors: TICKET_ERRORS,
  },
  {
    method: "delete", path: "/api/products/{id}/queue/{ticket_id}", tag: "line", summary: "Leave the line",
    description: "The ticket turns `left` (a final status keeps its own); its place and any units set aside for it go to the next buyer. With `BUYER_AUTH=jwt`, only for its buyer.",
    params: ticketPathParams, pathFields: ["id", "ticket_id"], security: BUYER,
    ok: { 200: { description: "the ticket, now `left`", schema: "Ticket" } },
    errors: TICKET_ERRORS,
  },
  {
    method: "get", path: "/api/products/{id}/queue/{ticket_id}/events", tag: "line", summary: "Live ticket (Server-Sent Events)",
    description: `Event \`ticket\` with the ticket at once and at every change: a status at once, a position at most once a second; the stream ends after a final status. With \`BUYER_AUTH=jwt\`, only for its buyer. ${SSE_NOTE}`,
    params: ticketPathParams, pathFields: ["id", "ticket_id"], security: BUYER,
    ok: { 200: { description: "an event stream of `ticket` events", mediaType: "text/event-stream", schema: { type: "string" } } },
    errors: TICKET_ERRORS,
  },
  {
    method: "post", path: "/api/orders", tag: "orders", summary: "Reserve units: the buy button",
    description: "202: the units are reserved and the order is durably queued. A retry with the same `Idempotency-Key` and body answers the same (`Idempotent-Replayed: true`). " +
      "`user_id` is required for products with a `per_user_limit`; with `BUYER_AUTH=jwt` it must be absent or the token's `sub`, and becomes `sub`. " +
      "A `queue` or `draw` product needs `Entry-Token`: an idempotent replay is answered first whatever the token; then a missing entry is 403 `ENTRY_REQUIRED`, " +
      "a forged, expired or another buyer's or product's one 403 `ENTRY_INVALID`, one already used by another order 409 `ENTRY_USED`; an admitted buyer's order of up to `per_entry` units is never `SOLD_OUT`.",
    params: placeOrderParams, body: { required: true },
    headers: {
      "Idempotency-Key": { rule: idempotencyKeyRule, description: "1..128 printable ASCII characters; remembered for at least 24 hours" },
      "Entry-Token": { rule: { type: "string", min: 1 }, description: "the `entry_token` of the buyer's admitted ticket (a `queue` or `draw` product): good for one order, until `entry_expires_at`" },
    },
    security: BUYER,
    ok: { 202: { description: "reserved", schema: "Reservation", headers: { Location: "/api/orders/{order_id}", "Idempotent-Replayed": "`true` on a replay" } } },
    errors: [
      ...BODY_ERRORS, ...BUYER_ERRORS, "ENTRY_REQUIRED", "ENTRY_INVALID", "PRODUCT_NOT_FOUND", "SOLD_OUT", "INSUFFICIENT_STOCK", "SALE_NOT_ACTIVE", "LIMIT_EXCEEDED",
      "ENTRY_USED", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED", "UNAVAILABLE",
    ],
  },
  {
    method: "get", path: "/api/orders/{id}", tag: "orders", summary: "An order",
    description: "Answers as soon as the 202 was sent (`reserved` until the row is written). With `BUYER_AUTH=jwt`, only for its buyer.",
    params: orderIdPathParams, pathFields: ["id"], security: BUYER,
    ok: { 200: { description: "the order", schema: "Order" } },
    errors: [...BUYER_ERRORS, "ORDER_NOT_FOUND", "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/orders/{id}/cancel", tag: "orders", summary: "Give the units back before paying",
    description: "Works in every unpaid status, `reserved` included; cancelling a cancelled order answers the same again. With `BUYER_AUTH=jwt`, only for its buyer.",
    params: orderIdPathParams, pathFields: ["id"], security: BUYER,
    ok: { 200: { description: "the order, `cancelled`", schema: "Order" } },
    errors: [...BUYER_ERRORS, "ORDER_NOT_FOUND", "ORDER_NOT_CANCELLABLE", "VALIDATION_ERROR", "RATE_LIMITED", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/orders/{id}/events", tag: "orders", summary: "Live order status (Server-Sent Events)",
    description: `Event \`order\` with the order at once and at every status change; the stream ends after a final status. ${SSE_NOTE}`,
    params: orderIdPathParams, pathFields: ["id"], security: BUYER,
    ok: { 200: { description: "an event stream of `order` events", mediaType: "text/event-stream", schema: { type: "string" } } },
    errors: [...BUYER_ERRORS, "ORDER_NOT_FOUND", "VALIDATION_ERROR", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/payments/webhook", tag: "payments", summary: "The payment provider's signed event",
    description: "`X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with WEBHOOK_SECRET>`, at most 300 s old. Idempotent on `event_id`.",
    params: paymentEventParams, body: { required: true },
    security: [{ webhookSignature: [] }],
    ok: {
      200: { description: "applied (or already applied: the same answer again)", schema: "WebhookAnswer" },
      202: { description: "the order is not persisted yet: stored, applied when its row is written", schema: "WebhookAnswer" },
    },
    errors: ["INVALID_SIGNATURE", ...BODY_ERRORS, "AMOUNT_MISMATCH", "ORDER_NOT_FOUND", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/admin/products", tag: "admin", summary: "Put a product on sale",
    params: createProductParams, body: { required: true }, security: ADMIN,
    ok: { 201: { description: "the product, on sale at once", schema: "Product", headers: { Location: "/api/products/{id}" } } },
    errors: [...BODY_ERRORS, "UNAUTHORIZED", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/admin/products/{id}/restock", tag: "admin", summary: "Add units",
    params: restockParams, pathFields: ["id"], body: { required: true }, security: ADMIN,
    ok: { 200: { description: "the product", schema: "Product" } },
    errors: [...BODY_ERRORS, "UNAUTHORIZED", "PRODUCT_NOT_FOUND", "UNAVAILABLE"],
  },
  {
    method: "patch", path: "/api/admin/products/{id}/queue", tag: "admin", summary: "Pace or pause a product's line",
    description: "`admit_per_second` (null: no bound) caps the entries issued per second; `paused` stops new entries (tickets keep their places, entries already issued stay good).",
    params: patchLineParams, pathFields: ["id"], body: { required: true }, security: ADMIN,
    ok: { 200: { description: "the line", schema: "Line" } },
    errors: [...BODY_ERRORS, "UNAUTHORIZED", "PRODUCT_NOT_FOUND", "QUEUE_NOT_OPEN", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/admin/audit", tag: "admin", summary: "Every invariant of the design, per product",
    security: ADMIN,
    ok: { 200: { description: "`ok` is false when any invariant fails or messages were dead-lettered", schema: "Audit" } },
    errors: ["UNAUTHORIZED", "UNAVAILABLE"],
  },
  {
    method: "post", path: "/api/admin/dashboard/session", tag: "admin", summary: "Trade the admin token for the dashboard's session cookie",
    description: "EventSource cannot send an Authorization header: the dashboard's stream is authorised by a short-lived signed cookie (HttpOnly, SameSite=Strict, Path=/api/admin/dashboard), never by the token in a URL.",
    security: ADMIN,
    ok: { 200: { description: "the cookie is set (`Set-Cookie`); `expires_at` is when it lapses", schema: { type: "object", properties: { expires_at: { type: "string", format: "date-time" } }, required: ["expires_at"] }, headers: { "Set-Cookie": "flash_dashboard=<expiry>.<signature>" } } },
    errors: ["UNAUTHORIZED"],
  },
  {
    method: "delete", path: "/api/admin/dashboard/session", tag: "admin", summary: "Sign the dashboard out: the request's cookie is revoked on every node, and the browser drops it",
    security: ADMIN,
    ok: { 204: { description: "the cookie is revoked and cleared" } },
    errors: ["UNAUTHORIZED", "UNAVAILABLE"],
  },
  {
    method: "get", path: "/api/admin/dashboard/events", tag: "admin", summary: "The dashboard's live data (Server-Sent Events), read through the cluster",
    description: `Authorised by the session cookie of POST /api/admin/dashboard/session. ${SSE_NOTE}`,
    ok: { 200: { description: "an event stream of dashboard snapshots", mediaType: "text/event-stream", schema: { type: "string" } } },
    errors: ["UNAUTHORIZED"],
  },
  {
    method: "get", path: "/api/openapi.json", tag: "documents", summary: "This document",
    ok: { 200: { description: "OpenAPI 3.1", schema: { type: "object" } } }, errors: [],
  },
  {
    method: "get", path: "/docs", tag: "documents", summary: "A readable API reference of this document",
    ok: { 200: { description: "an HTML page (its scripts and styles are served from here, no CDN)", mediaType: "text/html", schema: { type: "string" } } }, errors: [],
  },
  {
    method: "get", path: "/docs/assets/{file}", tag: "documents", summary: "The reference page's scripts, styles and icon (from the swagger-ui-dist package)",
    params: { file: { type: "string", min: 1, max: 64 } }, pathFields: ["file"],
    ok: { 200: { description: "the file (JavaScript, CSS or PNG)", mediaType: "application/octet-stream", schema: { type: "string" } } },
    errors: [["NOT_FOUND", 404]],
  },
  {
    method: "get", path: "/", tag: "documents", summary: "The storefront: a product, its live stock, a buy button, the order's live status",
    ok: { 200: { description: "an HTML page", mediaType: "text/html", schema: { type: "string" } } }, errors: [],
  },
  {
    method: "get", path: "/storefront.css", tag: "documents", summary: "The storefront's style sheet",
    ok: { 200: { description: "CSS", mediaType: "text/css", schema: { type: "string" } } }, errors: [],
  },
  {
    method: "get", path: "/storefront.js", tag: "documents", summary: "The storefront's script (plain JavaScript, no build)",
    ok: { 200: { description: "JavaScript", mediaType: "text/javascript", schema: { type: "string" } } }, errors: [],
  },
  {
    method: "get", path: "/dashboard", tag: "documents", summary: "The operator's live view (its data needs the admin token)",
    ok: { 200: { description: "an HTML page", mediaType: "text/html", schema: { type: "string" } } }, errors: [],
  },
  {
    method: "get", path: "/health", tag: "operations", summary: "Redis, NATS and PostgreSQL, checked for real",
    ok: { 200: { description: "all up", schema: "Health" } }, errors: [["UNAVAILABLE", 503]],
  },
  {
    method: "get", path: "/health/live", tag: "operations", summary: "Liveness: the process can answer",
    ok: { 200: { description: "alive", schema: { type: "object" } } }, errors: [],
  },
  {
    method: "get", path: "/health/ready", tag: "operations", summary: "Readiness: this node can take orders (Redis and NATS up, not shutting down)",
    ok: { 200: { description: "ready", schema: { type: "object" } } }, errors: ["UNAVAILABLE"],
  },
  {
    method: "get", path: "/metrics", tag: "operations", summary: "Prometheus metrics",
    ok: { 200: { description: "Prometheus text format", mediaType: "text/plain", schema: { type: "string" } } }, errors: [],
  },
];

/** Schemas of components: the answers, the error envelope. */
function components(): Record<string, JsonSchema> {
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
  return {
    Product: objectSchema(productAnswer),
    Reservation: objectSchema(reservationAnswer),
    Order: objectSchema(orderAnswer),
    WebhookAnswer: objectSchema(webhookAnswer),
    Audit: objectSchema(auditAnswer),
    Health: objectSchema(healthAnswer),
    Ticket: objectSchema(ticketAnswer),
    Line: objectSchema(lineAnswer),
    Challenge: objectSchema(challengeAnswer),
    ErrorCode: {
      type: "string", enum: codes,
      description: "`NOT_FOUND`: an unknown path, on every route. `INTERNAL` (500) is never a client's doing: it is a bug.",
    },
    Error: {
      type: "object",
      required: ["error"],
      properties: {
        error: {
          type: "object",
          required: ["code", "message"],
          properties: {
            code: ref("ErrorCode"),
            message: { type: "string", description: "human readable" },
            details: { type: "object", description: "e.g. `fields`: the offending fields of a VALIDATION_ERROR" },
          },
        },
      },
    },
  };
}

function errorResponses(errors: ErrorAnswer[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const e of errors) {
    const [code, status] = Array.isArray(e) ? e : [e, ERROR_STATUS[e]];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const response: Record<string, unknown> = {
      description: codes.map((c) => `\`${c}\``).join(", "),
      content: {
        [JSON_TYPE]: {
          schema: {
            allOf: [ref("Error")],
            properties: { error: { properties: { code: { type: "string", enum: codes } } } },
          },
        },
      },
    };
    if (status === 429 || status === 503) {
      response.headers = { "Retry-After": { description: "seconds", schema: { type: "integer", minimum: 0 } } };
    }
    out[String(status)] = response;
  }
  return out;
}

function operation(op: Operation): Record<string, unknown> {
  const pathFields = new Set(op.pathFields ?? []);
  const parameters: unknown[] = [];
  for (const field of pathFields) {
    parameters.push({ name: field, in: "path", required: true, schema: ruleSchema(op.params![field], `${op.path} ${field}`) });
  }
  for (const [name, h] of Object.entries(op.headers ?? {})) {
    parameters.push({ name, in: "header", required: false, description: h.description, schema: ruleSchema(h.rule, name) });
  }
  const o: Record<string, unknown> = { tags: [op.tag], summary: op.summary, operationId: operationId(op) };
  if (op.description) o.description = op.description;
  if (parameters.length > 0) o.parameters = parameters;
  if (op.body && op.params) {
    o.requestBody = {
      required: op.body.required,
      content: { [JSON_TYPE]: { schema: objectSchema(op.params, (f) => !pathFields.has(f)) } },
    };
  }
  if (op.security) o.security = op.security;
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.ok)) {
    const r: Record<string, unknown> = { description: answer.description };
    if (answer.schema) {
      r.content = { [answer.mediaType ?? JSON_TYPE]: { schema: typeof answer.schema === "string" ? ref(answer.schema) : answer.schema } };
    }
    if (answer.headers) {
      r.headers = Object.fromEntries(Object.entries(answer.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }]));
    }
    responses[status] = r;
  }
  o.responses = { ...responses, ...errorResponses(op.errors) };
  return o;
}

function operationId(op: Operation): string {
  const words = op.path.replace(/[{}]/g, "").split(/[/._-]+/).filter(Boolean);
  const name = words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join("");
  return `${op.method}${name ? name[0].toUpperCase() + name.slice(1) : "Root"}`;
}

let built: Record<string, unknown> | undefined;

/** The document (built once: it depends on code only, never on configuration). */
export function openApiDocument(): Record<string, unknown> {
  if (built) return built;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op);
  built = {
    openapi: "3.1.0",
    info: {
      title: "flash-sale",
      version: "1.0.0",
      description: "A flash-sale backend: thousands of buyers in the same second for a few hundred units. " +
        "Bodies are JSON, snake_case; timestamps ISO-8601 UTC; money integer cents. Every error has the envelope " +
        "`{ \"error\": { \"code\", \"message\", \"details\"? } }`.",
    },
    tags: ["products", "line", "orders", "payments", "admin", "documents", "operations"].map((name) => ({ name })),
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <ADMIN_TOKEN>`" },
        buyerToken: {
          type: "http", scheme: "bearer", bearerFormat: "JWT",
          description: "With `BUYER_AUTH=jwt`: a JWT of the shop's identity provider (HS256, RS256 or ES256), `exp` required; the buyer is its `sub`. Not needed with `BUYER_AUTH=none`.",
        },
        webhookSignature: { type: "apiKey", in: "header", name: "X-Signature", description: "`t=<unix seconds>,v1=<hex HMAC-SHA256>` of the raw body" },
      },
    },
  };
  return built;
}
