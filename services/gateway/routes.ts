/**
 * The gateway's moleculer-web routes: which alias calls which gateway action, with what
 * body parser and which checks before it. `POST /api/orders` and the dashboard are not
 * here: they are answered in front of the router (./order-route.ts, ./dashboard-route.ts).
 * Every JSON route takes `application/json` only (else 415) and a body nested no deeper
 * than MAX_JSON_DEPTH (src/lib/params.ts); a product id in a path is decimal digits; HEAD
 * is answered as GET without the body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import moleculer, { type Context } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import { checkDecimalId, jsonBodyText } from "../../src/lib/params.ts";
import { checkJsonContentType, isJsonContentType } from "./http-envelope.ts";
import { BODY_LIMIT_BYTES } from "./order-route.ts";
import type { ApiReference } from "./pages/api-reference.ts";

/** What the gateway's actions read and set in ctx.meta (moleculer-web's `$` fields among them). */
export interface GatewayMeta {
  /** the buyer, set by the `buyer` route's authentication (./buyer-identity.ts): a token's sub, or null */
  user?: string | null;
  /** the client's address (joining a line counts against its rate limit) */
  address?: string;
  $location?: string;
  $responseType?: string;
  rawBody?: string;
  signature?: string;
  /** the Cookie header of DELETE /api/admin/dashboard/session: the session it signs out */
  dashboardCookie?: string;
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
}

/** A request as moleculer-web hands it to the gateway's hooks. */
export interface Req extends IncomingMessage {
  body?: unknown;
  $ctx: Context<unknown, GatewayMeta>;
  $params: Record<string, unknown>;
  /** a HEAD request, routed as GET (headAsGet) */
  $head?: boolean;
}

type Next = (err?: unknown) => void;

/*
 * Checks of an alias, run by moleculer-web before its action (after authorization):
 * `"POST /path": [check, …, "gateway.action"]`.
 */

/** A JSON route: `application/json` (optional charset=utf-8) or 415, whatever the body. */
function jsonBody(req: Req, _res: ServerResponse, next: Next): void {
  try {
    checkJsonContentType(req.headers["content-type"]);
    next();
  } catch (err) {
    next(err);
  }
}

/** A product id in the path: decimal digits, or 422 before the action's rule converts it with Number(). */
function decimalProductId(req: Req, _res: ServerResponse, next: Next): void {
  const check = checkDecimalId(req.$params.id);
  next(check === true ? undefined : new moleculer.Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", check));
}

/**
 * HEAD is GET without the body: routed as GET. Node sends no body in answer to a HEAD
 * request, and no Content-Length unless one is set: set here from the body GET would send.
 */
export function headAsGet(req: Req, res: ServerResponse): void {
  req.method = "GET";
  req.$head = true;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if ((typeof chunk === "string" || Buffer.isBuffer(chunk)) && !res.headersSent && !res.hasHeader("content-length")) {
      res.setHeader("Content-Length", Buffer.byteLength(chunk));
    }
    return end(chunk, ...rest);
  }) as ServerResponse["end"];
}

// body-parser would decode invalid UTF-8 as U+FFFD, and parse any depth: refused instead, like on the hot route
const json = { json: { limit: BODY_LIMIT_BYTES, strict: true, verify: (_req: unknown, _res: unknown, buf: Buffer) => jsonBodyText(buf) }, urlencoded: false };

/** The routes; `openApiJson` is the document served at /api/openapi.json, `reference` the /docs page. */
export function gatewayRoutes(openApiJson: string, reference: ApiReference): ApiRouteSchema[] {
  return [
    {
      name: "admin",
      path: "/api/admin",
      mappingPolicy: "restrict",
      authorization: true,
      logging: false,
      bodyParsers: json,
      aliases: {
        "POST /products": [jsonBody, "gateway.createProduct"],
        "POST /products/:id/restock": [jsonBody, decimalProductId, "gateway.restock"],
        "PATCH /products/:id/queue": [jsonBody, decimalProductId, "gateway.patchLine"],
        "GET /audit": "gateway.audit",
        "POST /dashboard/session": "gateway.dashboardSession",
        "DELETE /dashboard/session": "gateway.dashboardSignOut",
      },
      onBeforeCall(ctx: Context<unknown, GatewayMeta>, _route: unknown, req: Req) {
        if (req.method === "DELETE") ctx.meta.dashboardCookie = req.headers.cookie;
      },
    },
    {
      name: "public",
      path: "/api",
      mappingPolicy: "restrict",
      logging: false,
      bodyParsers: false,
      aliases: {
        "GET /products/:id": [decimalProductId, "gateway.product"],
        "GET /products/:id/events": [decimalProductId, "gateway.productEvents"],
        "GET /products/:id/queue": [decimalProductId, "gateway.line"],
        // a literal segment: matched before the ticket ids of the buyer's routes (moleculer-web tries fewer parameters first)
        "GET /products/:id/queue/challenge": [decimalProductId, "gateway.lineChallenge"],
      },
    },
    {
      // The buyer's endpoints: ctx.meta.user is the buyer (BUYER_AUTH=jwt: the token's sub).
      // POST /api/orders is answered before these routes: ./order-route.ts
      name: "buyer",
      path: "/api",
      mappingPolicy: "restrict",
      authentication: "authenticateBuyer",
      logging: false,
      bodyParsers: false,
      aliases: {
        "GET /orders/:id": "gateway.order",
        "POST /orders/:id/cancel": "gateway.cancel",
        "GET /orders/:id/events": "gateway.orderEvents",
        "GET /products/:id/queue/:ticket_id": [decimalProductId, "gateway.ticket"],
        "DELETE /products/:id/queue/:ticket_id": [decimalProductId, "gateway.leaveLine"],
        "GET /products/:id/queue/:ticket_id/events": [decimalProductId, "gateway.ticketEvents"],
      },
    },
    {
      // Joining a line: a buyer's endpoint with a JSON body (`user_id`, `challenge`)
      name: "line",
      path: "/api",
      mappingPolicy: "restrict",
      authentication: "authenticateBuyer",
      logging: false,
      bodyParsers: json,
      aliases: {
        "POST /products/:id/queue": [jsonBody, decimalProductId, "gateway.joinLine"],
      },
      onBeforeCall(ctx: Context<unknown, GatewayMeta>, _route: unknown, req: Req) {
        ctx.meta.address = req.socket.remoteAddress ?? "unknown";
      },
    },
    {
      // The signature covers the exact bytes: this route keeps the body raw (a JSON body
      // read, checked like any other, handed on as it came; another type is not read: 415).
      name: "payments",
      path: "/api/payments",
      mappingPolicy: "restrict",
      logging: false,
      bodyParsers: {
        json: false,
        urlencoded: false,
        raw: {
          type: (req: IncomingMessage) => isJsonContentType(req.headers["content-type"]),
          limit: BODY_LIMIT_BYTES,
          verify: (_req: unknown, _res: unknown, buf: Buffer) => jsonBodyText(buf),
        },
      },
      aliases: { "POST /webhook": [jsonBody, "gateway.webhook"] },
      onBeforeCall(ctx: Context<unknown, GatewayMeta>, _route: unknown, req: Req) {
        ctx.meta.rawBody = Buffer.isBuffer(req.body) ? req.body.toString("base64") : "";
        const sig = req.headers["x-signature"];
        ctx.meta.signature = typeof sig === "string" ? sig : undefined;
      },
    },
    {
      // the contract, machine-readable and readable (./openapi/, ./pages/api-reference.ts)
      name: "documents",
      path: "/",
      mappingPolicy: "restrict",
      logging: false,
      bodyParsers: false,
      aliases: {
        "GET /api/openapi.json"(_req: Req, res: ServerResponse) {
          res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(Buffer.byteLength(openApiJson)), "Cache-Control": "no-cache" });
          res.end(openApiJson);
        },
        "GET /docs"(_req: Req, res: ServerResponse) {
          reference.page(res);
        },
        "GET /docs/assets/:file"(req: Req & { $params: { file?: unknown } }, res: ServerResponse) {
          reference.asset(res, req.$params.file);
        },
      },
    },
    {
      name: "operations",
      path: "/",
      mappingPolicy: "restrict",
      logging: false,
      bodyParsers: false,
      aliases: {
        "GET /health": "gateway.health",
        "GET /health/live": "gateway.live",
        "GET /health/ready": "gateway.ready",
        "GET /metrics": "gateway.metrics",
      },
    },
    {
      name: "pages",
      path: "/",
      mappingPolicy: "restrict",
      logging: false,
      bodyParsers: false,
      aliases: {
        "GET /": "gateway.storefront",
        "GET /storefront.css": "gateway.storefrontStyle",
        "GET /storefront.js": "gateway.storefrontScript",
      },
    },
  ];
}
