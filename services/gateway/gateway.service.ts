/**
 * gateway: the HTTP face of the service (moleculer-web). Routing, the 16 KiB body
 * limit, admin authentication, per-buyer rate limits, and the error envelope of
 * API.md — every failure goes through `toHttpError` in `onError`. Its actions are
 * thin: they call the owning service with proper params, so the Shard strategy sees
 * `product_id` and routes each product to its inventory node.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import type { Config } from "../../src/lib/config.ts";
import { ERROR_STATUS, errorBody, FlashError } from "../../src/lib/errors.ts";
import { toHttpError } from "../../src/lib/http-envelope.ts";
import { RateLimiter } from "../../src/lib/rate-limiter.ts";
import { ScrapeReporter } from "../../src/lib/metrics.ts";
import {
  createProductParams,
  orderIdPathParams,
  placeOrderParams,
  productIdPathParams,
  restockParams,
} from "../../src/lib/params.ts";
import type { OrderRequest, ReserveOutcome } from "../../src/domain/reservation.ts";

const BODY_LIMIT = "16kb";
const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,128}$/;

interface GatewayMeta {
  $location?: string;
  $responseType?: string;
  idempotencyKey?: string | null;
  rawBody?: string;
  signature?: string;
  clientIp?: string;
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
}

interface Req extends IncomingMessage {
  body?: unknown;
  $ctx: Context<unknown, GatewayMeta>;
}

type AliasInfo = { action?: string };

const sha = (s: string) => createHash("sha256").update(s).digest();

export default function gatewayService(config: Readonly<Config>): ServiceSchema {
  const limiter = new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
  const adminDigest = sha(config.adminToken);
  const json = { json: { limit: BODY_LIMIT, strict: true }, urlencoded: false };
  let sweepTimer: NodeJS.Timeout | undefined;

  return {
    name: "gateway",
    mixins: [ApiGateway],

    settings: {
      port: config.port,
      ip: config.host,
      logRequest: null,
      logRequestParams: null,
      logResponse: null,
      log4XXResponses: false,
      logRouteRegistration: "debug",
      routes: [
        {
          name: "admin",
          path: "/api/admin",
          mappingPolicy: "restrict",
          authorization: true,
          logging: false,
          bodyParsers: json,
          aliases: {
            "POST /products": "gateway.createProduct",
            "POST /products/:id/restock": "gateway.restock",
            "GET /audit": "gateway.audit",
          },
        },
        {
          name: "public",
          path: "/api",
          mappingPolicy: "restrict",
          logging: false,
          bodyParsers: json,
          aliases: {
            "GET /products/:id": "gateway.product",
            "POST /orders": "gateway.placeOrder",
            "GET /orders/:id": "gateway.order",
          },
          onBeforeCall(ctx: Context<unknown, GatewayMeta>, _route: unknown, req: Req, _res: ServerResponse, alias: AliasInfo) {
            ctx.meta.clientIp = req.socket.remoteAddress ?? "unknown";
            if (alias.action !== "gateway.placeOrder") return;
            const key = req.headers["idempotency-key"];
            if (key !== undefined) {
              if (typeof key !== "string" || !IDEMPOTENCY_KEY_RE.test(key)) {
                throw new FlashError("VALIDATION_ERROR", "Idempotency-Key must be 1..128 printable ASCII characters", {
                  fields: { "Idempotency-Key": "1..128 printable ASCII characters" },
                });
              }
              ctx.meta.idempotencyKey = key;
            }
            // Many buyers share an address behind NAT: limit per buyer, per address only for anonymous ones.
            const body = req.body as { user_id?: unknown } | undefined;
            const user = body && typeof body.user_id === "string" && body.user_id.length <= 64 ? body.user_id : null;
            const decision = limiter.take(user ? `u:${user}` : `ip:${ctx.meta.clientIp}`);
            if (!decision.allowed) {
              throw new FlashError("RATE_LIMITED", "too many requests, slow down", { retry_after: decision.retryAfterSeconds });
            }
          },
        },
        {
          // The signature covers the exact bytes: this route keeps the body raw.
          name: "payments",
          path: "/api/payments",
          mappingPolicy: "restrict",
          logging: false,
          bodyParsers: { json: false, urlencoded: false, raw: { type: () => true, limit: BODY_LIMIT } },
          aliases: { "POST /webhook": "gateway.webhook" },
          onBeforeCall(ctx: Context<unknown, GatewayMeta>, _route: unknown, req: Req) {
            ctx.meta.rawBody = Buffer.isBuffer(req.body) ? req.body.toString("base64") : "";
            const sig = req.headers["x-signature"];
            ctx.meta.signature = typeof sig === "string" ? sig : undefined;
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
            "GET /metrics": "gateway.metrics",
          },
        },
      ],
      onError(this: { logger: { error: (...a: unknown[]) => void } }, req: Req, res: ServerResponse, err: unknown) {
        const h = toHttpError(err);
        if (h.body.error.code === "INTERNAL") this.logger.error("unhandled error", req.method, req.url, err);
        if (res.headersSent) return void res.end();
        res.setHeader("Content-Type", "application/json; charset=utf-8");
        for (const [k, v] of Object.entries(h.headers)) res.setHeader(k, v);
        res.writeHead(h.status);
        res.end(JSON.stringify(h.body));
      },
    },

    actions: {
      placeOrder: {
        params: placeOrderParams,
        async handler(ctx: Context<OrderRequest, GatewayMeta>) {
          const outcome = await ctx.call<ReserveOutcome, OrderRequest>("inventory.reserve", ctx.params);
          if (!outcome.ok) {
            ctx.meta.$statusCode = ERROR_STATUS[outcome.code];
            return errorBody(outcome.code, outcome.message, outcome.details);
          }
          const o = outcome.order;
          ctx.meta.$statusCode = 202;
          ctx.meta.$responseHeaders = outcome.replayed
            ? { Location: `/api/orders/${o.order_id}`, "Idempotent-Replayed": "true" }
            : { Location: `/api/orders/${o.order_id}` };
          return {
            order_id: o.order_id, status: o.status, product_id: o.product_id, qty: o.qty,
            user_id: o.user_id, amount_cents: o.amount_cents, expires_at: o.expires_at,
          };
        },
      },
      order: {
        params: orderIdPathParams,
        handler(ctx: Context<{ id: string }>) {
          return ctx.call("orders.get", { id: ctx.params.id });
        },
      },
      product: {
        params: productIdPathParams,
        handler(ctx: Context<{ id: number }>) {
          return ctx.call("inventory.product", { id: ctx.params.id });
        },
      },
      createProduct: {
        params: createProductParams,
        async handler(ctx: Context<Record<string, unknown>, GatewayMeta>) {
          const product = await ctx.call("inventory.createProduct", ctx.params);
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = `/api/products/${(product as { id: number }).id}`;
          return product;
        },
      },
      restock: {
        params: restockParams,
        handler(ctx: Context<{ id: number; add: number }>) {
          return ctx.call("inventory.restock", ctx.params);
        },
      },
      audit: {
        params: { $$strict: "remove" },
        handler(ctx: Context) {
          return ctx.call("sweeper.audit", {});
        },
      },
      webhook: {
        params: { $$strict: "remove" },
        async handler(ctx: Context<unknown, GatewayMeta>) {
          const answer = await ctx.call<{ status: number; body: unknown }, object>("payments.webhook", {
            raw: ctx.meta.rawBody ?? "",
            signature: ctx.meta.signature,
          });
          ctx.meta.$statusCode = answer.status;
          return answer.body;
        },
      },
      metrics: {
        async handler(ctx: Context<unknown, GatewayMeta>) {
          // cluster-wide gauges are refreshed at scrape time by their owners
          await Promise.all(
            ["orders.refreshMetrics"].map((a) => ctx.call(a, {}, { timeout: 2000, retries: 0 }).catch(() => undefined)),
          );
          const reporter = (this.broker.metrics as unknown as { reporter: unknown[] }).reporter
            .find((r): r is ScrapeReporter => r instanceof ScrapeReporter);
          ctx.meta.$responseType = "text/plain; version=0.0.4; charset=utf-8";
          return reporter ? reporter.render() : "";
        },
      },
      health: {
        async handler(ctx: Context<unknown, GatewayMeta>) {
          const report = { redis: "down", nats: "down", db: "down" } as Record<string, string>;
          const ask = async (action: string) => {
            try {
              const r = await ctx.call<Record<string, string>, object>(action, {}, { timeout: 2000, retries: 0 });
              Object.assign(report, r);
            } catch {
              // that service (and so the dependency it owns) is not reachable from here
            }
          };
          await Promise.all([ask("inventory.health"), ask("orders.health")]);
          const ok = Object.values(report).every((v) => v === "up");
          ctx.meta.$statusCode = ok ? 200 : 503;
          if (!ok) ctx.meta.$responseHeaders = { "Retry-After": "5" };
          return { status: ok ? "ok" : "degraded", ...report };
        },
      },
    },

    methods: {
      authorize(_ctx: Context, _route: unknown, req: Req) {
        const header = req.headers.authorization ?? "";
        const token = header.startsWith("Bearer ") ? header.slice(7) : "";
        if (!token || !timingSafeEqual(sha(token), adminDigest)) {
          throw new FlashError("UNAUTHORIZED", "a valid Authorization: Bearer <ADMIN_TOKEN> is required");
        }
      },
    },

    started() {
      sweepTimer = setInterval(() => limiter.sweep(), 10_000);
      sweepTimer.unref();
    },
    stopped() {
      if (sweepTimer) clearInterval(sweepTimer);
    },
  } as ServiceSchema;
}
