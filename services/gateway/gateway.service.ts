/**
 * gateway: the HTTP face of the service (moleculer-web). Routing (./routes.ts), the
 * 16 KiB body limit, admin authentication, per-buyer rate limits, and the error
 * envelope of API.md — every failure goes through `sendError` (`toHttpError`). Its
 * actions are thin: they call the owning service with proper params, so the Shard
 * strategy sees `product_id` and routes each product to its inventory node. The hot
 * route, `POST /api/orders`, is answered in front of moleculer-web's router by
 * ./order-route.ts, with the same validation, rate limit and envelope; the server that
 * puts it there is ./http-server.ts. The operator's dashboard (page and live stream) is
 * answered the same way by ./dashboard-route.ts; its session is traded here, on the
 * admin route. Buyer endpoints know their buyer through ./buyer-identity.ts (the `buyer`
 * route authenticates, `buyers.assertOrderBuyer` is the one check of a route about one
 * order). The actions of a product's line are ./line-actions.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceBroker } from "moleculer";
import type { ServiceSettingSchema } from "moleculer";
import ApiGateway, { type ApiRouteSchema } from "moleculer-web";
import type { Config } from "../../src/lib/config.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";
import { FlashError, errorBody } from "../../src/lib/errors.ts";
import { sendError } from "./http-envelope.ts";
import { lifecycleOf } from "../../src/lib/lifecycle.ts";
import { inventoryProbe, ReadinessProbe } from "./readiness.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { METRIC, ScrapeReporter } from "../../src/lib/metrics.ts";
import { HttpAnswers } from "./http-answers.ts";
import { OrderAnswers } from "./order-answers.ts";
import { createProductParams, orderIdPathParams, productIdPathParams, restockParams } from "../../src/lib/params.ts";
import { orderRoute } from "./order-route.ts";
import { gatewayRoutes, type GatewayMeta, type Req } from "./routes.ts";
import { gatewayServer } from "./http-server.ts";
import { dashboardRoute, type DashboardRoute } from "./dashboard-route.ts";
import { dashboardSession, localRevokedSessions, redisRevokedSessions } from "../../src/ops/dashboard-session.ts";
import { DashboardFeed, gatewayReading } from "../../src/ops/dashboard-feed.ts";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { jetStreamResource, redisResource } from "../../src/lib/resources.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { publishReservations } from "../../src/lib/publish-reservation.ts";
import { SoldOutEdge } from "./sold-out-edge.ts";
import { SOLD_OUT_EVENT, STOCK_RETURNED_EVENT, type SoldOutNotice, type ProductEvent as StockReturned } from "../../src/contracts/events.ts";
import { buyerIdentity } from "./buyer-identity.ts";
import { apiReference } from "./pages/api-reference.ts";
import { openApiDocument } from "./openapi/document.ts";
import { LiveUpdates } from "./live-updates.ts";
import { loadPages, PAGE_HEADERS } from "./pages.ts";
import type { OrderView } from "../../src/contracts/order-view.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { LineView, TicketReading, TicketRef } from "../../src/contracts/line.ts";
import { EntryTokens } from "../../src/domain/entry-token.ts";
import { lineActions } from "./line-actions.ts";
import { JoinGate } from "./join-gate.ts";

const AUDIT_TIMEOUT_MS = 120_000;
/** how often a gateway asks an inventory node whether Redis is up (readiness) */
const READY_PROBE_MS = 1000;

const sha = (s: string) => createHash("sha256").update(s).digest();

/** What moleculer-web (the mixin) adds to the service that this one uses. */
interface GatewayVars {
  server: http.Server;
  /** moleculer-web's router */
  httpHandler(req: IncomingMessage, res: ServerResponse): void;
  routes: Array<{ callOptions?: object }>;
}

/**
 * moleculer-web's settings as this gateway sets them. `rootCallOptions` is a function,
 * called per request (moleculer-web's typings know only its object form).
 */
interface GatewaySettings extends ServiceSettingSchema {
  port: number;
  ip: string;
  logRequest: null;
  logRequestParams: null;
  logResponse: null;
  log4XXResponses: boolean;
  logRouteRegistration: "debug";
  rootCallOptions(options: { timeout?: number }, req: IncomingMessage): void;
  routes: ApiRouteSchema[];
  onError(req: Req, res: ServerResponse, err: unknown): void;
}

interface GatewayMethods {
  createServer(): void;
  authenticateBuyer(ctx: Context, route: unknown, req: Req): Promise<string | null>;
  sendResponse(req: Req, res: ServerResponse, data: unknown, action: unknown): void;
  authorize(ctx: Context, route: unknown, req: Req): void;
}

export default function gatewayService(config: Readonly<Config>): TypedServiceSchema<GatewayMethods, GatewaySettings, GatewayVars> {
  const limits = {
    users: new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst),
    addresses: new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst),
  };
  /** POST /api/orders's answers, counted in plain numbers and added to the registry when it is read */
  let orderAnswers: OrderAnswers | null = null;
  const flushAnswers = (b: ServiceBroker) => {
    answers.flush(b);
    orderAnswers?.flush();
  };
  const buyers = buyerIdentity(config.buyerAuth);
  const reference = apiReference();
  const openApiJson = JSON.stringify(openApiDocument());
  const answers = new HttpAnswers();
  const adminDigest = sha(config.adminToken);
  let flushTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  const readiness = new ReadinessProbe(3 * READY_PROBE_MS);
  /** asks an inventory node whether Redis is up, and records the answer (set in started) */
  let probe: () => Promise<void> = async () => undefined;
  const edge = new SoldOutEdge(config.soldOutFlagMs);
  const hasRedis = config.redisNodes.length > 0 || config.redisUrl !== undefined;
  const gate = new JoinGate(config.challengeSecret, config.streamPrefix);
  const revokedSessions = hasRedis ? redisRevokedSessions(config) : localRevokedSessions();
  const session = dashboardSession(config.adminToken, config.env !== "development" && config.env !== "test", revokedSessions);
  let dashboard: DashboardRoute | undefined;
  let feed: DashboardFeed | undefined;
  let broker: ServiceBroker;
  const live = new LiveUpdates({
    maxStreams: config.sseMaxStreams,
    heartbeatMs: config.sseHeartbeatMs,
    maxBufferedBytes: config.sseMaxBufferedBytes,
    productIntervalMs: config.productUpdateIntervalMs,
    fetchOrder: (id) => broker.call<OrderView, object>("orders.get", { id }),
    fetchProduct: (id) => broker.call<ProductView, object>("inventory.product", { id }),
    fetchTicket: (product_id, ticket_id) => broker.call<TicketReading, TicketRef>("inventory.lineTicket", { product_id, ticket_id }),
    fetchLine: (product_id) => broker.call<LineView, object>("inventory.line", { product_id }),
    onCount: (kind, n) => broker.metrics.set(METRIC.liveStreams, n, { kind }),
    onDrop: (kind) => broker.metrics.increment(METRIC.liveStreamsDropped, { kind }),
    logger: { warn: (...args) => broker.logger.warn(...args) },
  });
  const liveEvents = live.events;
  const storefront = loadPages(["storefront.html", "storefront.css", "storefront.js"]);

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
      // the audit reads every product's shard: more than one call's worth of time on a big catalogue
      rootCallOptions(options: { timeout?: number }, req: IncomingMessage) {
        if (req.url?.startsWith("/api/admin/audit")) options.timeout = AUDIT_TIMEOUT_MS;
      },
      routes: gatewayRoutes(openApiJson, reference),
      onError(req, res, err) {
        sendError(res, err, (...args) => broker.logger.error(...args), `${req.method} ${req.url}`);
      },
    },

    actions: {
      order: {
        params: orderIdPathParams,
        async handler(ctx: Context<{ id: string }, GatewayMeta>) {
          const order = await ctx.call<{ user_id: string | null }, object>("orders.get", { id: ctx.params.id });
          buyers.assertOrderBuyer(ctx.meta.user, order);
          return order;
        },
      },
      product: {
        params: productIdPathParams,
        handler(ctx: Context<{ id: number }>) {
          return ctx.call("inventory.product", { id: ctx.params.id });
        },
      },
      cancel: {
        params: orderIdPathParams,
        async handler(ctx: Context<{ id: string }, GatewayMeta>) {
          buyers.assertOrderBuyer(ctx.meta.user, await ctx.call<{ user_id: string | null }, object>("orders.get", { id: ctx.params.id }));
          return ctx.call("orders.cancel", { id: ctx.params.id });
        },
      },
      orderEvents: {
        params: orderIdPathParams,
        handler(ctx: Context<{ id: string }, GatewayMeta>) {
          return live.openOrder(ctx.params.id, (order) => buyers.assertOrderBuyer(ctx.meta.user, order));
        },
      },
      productEvents: {
        params: productIdPathParams,
        handler(ctx: Context<{ id: number }, GatewayMeta>) {
          return live.openProduct(ctx.params.id);
        },
      },
      ...lineActions({ buyers, limits, live, gate }),
      ...Object.fromEntries(
        ([["storefront", "storefront.html"], ["storefrontStyle", "storefront.css"], ["storefrontScript", "storefront.js"]] as const).map(
          ([action, file]) => [action, {
            params: { $$strict: "remove" },
            handler(ctx: Context<unknown, GatewayMeta>) {
              const page = storefront.get(file)!;
              ctx.meta.$responseType = page.type;
              ctx.meta.$responseHeaders = PAGE_HEADERS;
              return page.body;
            },
          }],
        ),
      ),
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
      dashboardSession: {
        params: { $$strict: "remove" },
        handler(ctx: Context<unknown, GatewayMeta>) {
          // reached only through the admin route: the Bearer token was checked by authorize
          const { setCookie, expiresAt } = session.issue(Date.now());
          ctx.meta.$responseHeaders = { "Set-Cookie": setCookie, "Cache-Control": "no-store" };
          return { expires_at: new Date(expiresAt).toISOString() };
        },
      },
      dashboardSignOut: {
        params: { $$strict: "remove" },
        async handler(ctx: Context<unknown, GatewayMeta>) {
          await session.signOut(ctx.meta.dashboardCookie, Date.now());
          ctx.meta.$responseHeaders = { "Set-Cookie": session.clear(), "Cache-Control": "no-store" };
          ctx.meta.$statusCode = 204;
          return null;
        },
      },
      /** This node's order answers and latency, for the dashboard: called on every gateway node by id. */
      dashboardNode: {
        visibility: "public",
        handler() {
          flushAnswers(this.broker);
          return gatewayReading(this.broker.nodeID, this.broker.metrics as never);
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
            ["orders.refreshMetrics", "inventory.refreshMetrics", "sweeper.refreshMetrics"].map((a) => ctx.call(a, {}, { timeout: 2000, retries: 0 }).catch(() => undefined)),
          );
          flushAnswers(this.broker);
          const reporter = (this.broker.metrics as unknown as { reporter: unknown[] }).reporter
            .find((r): r is ScrapeReporter => r instanceof ScrapeReporter);
          ctx.meta.$responseType = "text/plain; version=0.0.4; charset=utf-8";
          return reporter ? reporter.render() : "";
        },
      },
      live: {
        // liveness: the process answers at all (a restart is the cure for anything else)
        handler() {
          return { status: "ok" };
        },
      },
      ready: {
        /**
         * Readiness (load balancers, Kubernetes): this node can take orders — not
         * shutting down, connected to NATS, and an inventory node said lately that every
         * Redis master is up (probed in the background: the answer is instant, and one
         * dead inventory node does not flap the readiness of every gateway). PostgreSQL
         * is not asked: accepted orders wait on the stream.
         */
        async handler(ctx: Context<unknown, GatewayMeta>) {
          // a failed probe is checked again now, so a node is ready as soon as it can be
          if (!lifecycleOf(this.broker).draining && readiness.reason(Date.now()) !== null) await probe();
          const reason = lifecycleOf(this.broker).draining
            ? "shutting down"
            : this.broker.transit && !this.broker.transit.connected
              ? "not connected to NATS"
              : readiness.reason(Date.now());
          if (reason === null) return { status: "ready" };
          ctx.meta.$statusCode = 503;
          ctx.meta.$responseHeaders = { "Retry-After": "1" };
          return errorBody("UNAVAILABLE", `not ready: ${reason}`);
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

    events: {
      // what changed anywhere in the cluster, for this node's live streams
      ...liveEvents,
      // the inventory's announcements keep this gateway's sold-out hint (services/inventory/stock-events.ts)
      [SOLD_OUT_EVENT](ctx: Context<SoldOutNotice>) {
        const { product_id, ...rules } = ctx.params;
        edge.soldOut(product_id, rules);
      },
      [STOCK_RETURNED_EVENT](ctx: Context<StockReturned>) {
        edge.returned(ctx.params.product_id);
        liveEvents[STOCK_RETURNED_EVENT](ctx as never);
      },
    },

    methods: {
      /** moleculer-web's server, with POST /api/orders answered first (./order-route.ts). */
      createServer() {
        orderAnswers = OrderAnswers.register(this.broker.isMetricsEnabled() ? (this.broker.metrics as never) : null);
        const orders = orderRoute({
          broker: this.broker, limits, edge, logger: this.logger, requestTimeoutMs: config.requestTimeoutMs, batchMax: config.reserveBatchMax, buyers,
          entries: new EntryTokens(config.entryTokenSecret), answers: orderAnswers, http: answers,
        });
        feed = new DashboardFeed(this.broker);
        dashboard = dashboardRoute(session, feed, this.logger, {
          maxBytes: config.sseMaxBufferedBytes, onDrop: () => this.broker.metrics.increment(METRIC.liveStreamsDropped, { kind: "dashboard" }),
        });
        const router = this.httpHandler.bind(this);
        this.server = gatewayServer({ lifecycle: lifecycleOf(this.broker), orders, dashboard, live, answers, router });
      },
      /** The `buyer` route's authentication: what it returns becomes ctx.meta.user. */
      authenticateBuyer(_ctx: Context, _route: unknown, req: Req) {
        return buyers.authenticate(req.headers.authorization);
      },
      /** moleculer-web's answer, except for a live stream: sent by ./live-updates.ts (for a HEAD, its headers only) */
      sendResponse(req: Req, res: ServerResponse, data: unknown, action: unknown) {
        if (live.owns(data)) {
          live.send(res, data);
          if (req.$head) {
            data.unpipe(res);
            data.destroy();
            res.end();
          }
          return;
        }
        return ApiGateway.methods!.sendResponse.call(this, req, res, data, action);
      },
      authorize(_ctx: Context, _route: unknown, req: Req) {
        const header = req.headers.authorization ?? "";
        const token = header.startsWith("Bearer ") ? header.slice(7) : "";
        if (!token || !timingSafeEqual(sha(token), adminDigest)) {
          throw new FlashError("UNAUTHORIZED", "a valid Authorization: Bearer <ADMIN_TOKEN> is required");
        }
      },
    },

    created() {
      broker = this.broker;
      // Each route calls this node's own gateway actions: they are this node's HTTP face,
      // and a live stream must be held by the node its client is connected to. With
      // preferLocal off (the inventory's Shard strategy) the registry would balance them
      // over every gateway node of the cluster instead.
      for (const route of this.routes) {
        route.callOptions = { ...route.callOptions, nodeID: this.broker.nodeID };
      }
    },
    async started() {
      HttpAnswers.register(this.broker);
      this.broker.metrics.register({ name: METRIC.liveStreams, type: "gauge", labelNames: ["kind"], description: "Open live-update (SSE) streams on this gateway" });
      this.broker.metrics.register({ name: METRIC.liveStreamsDropped, type: "counter", labelNames: ["kind"], description: "Live-update streams dropped because their client did not keep up" });
      // for the registry's other readers (the REPL's `metrics`, a reporter): GET /metrics and the dashboard flush first
      flushTimer = setInterval(() => flushAnswers(this.broker), 1000);
      flushTimer.unref();
      live.start();
      probe = inventoryProbe(this.broker, readiness, READY_PROBE_MS);
      probeTimer = setInterval(probe, READY_PROBE_MS);
      probeTimer.unref();
      await probe();
      // used challenge solutions are remembered in Redis, for every gateway
      if (hasRedis) gate.useRedis((await redisResource.acquire(config)).redis);
      // replays of winning keys on a sold-out product: read from Redis, handed to the stream, no node asked
      if (hasRedis && config.soldOutFlagMs > 0) {
        const { scripts, replicated } = await redisResource.acquire(config);
        const { js } = await jetStreamResource.acquire(config);
        const streams = streamNames(config.streamPrefix);
        const need = config.redisMinReplicas;
        edge.replayWith({
          replayKey: need > 0
            ? (keys, args) => replicated.replayKey(keys, args, need, config.redisWaitTimeoutMs)
            : async (keys, args) => ({ reply: await scripts.replayKey(keys, args), replicas: Infinity }),
          minReplicas: need,
          keys: deploymentKeys(config.streamPrefix),
          publish: (record) => publishReservations(js, streams, [record], config.publishTimeoutMs),
        });
      }
    },
    async stopped() {
      if (flushTimer) clearInterval(flushTimer);
      if (probeTimer) clearInterval(probeTimer);
      // before moleculer-web closes the server: an open stream would hold it open
      dashboard?.close();
      feed?.stop();
      await revokedSessions.close();
      if (hasRedis && config.soldOutFlagMs > 0) {
        edge.replayWith(null);
        await Promise.all([redisResource.release(config), jetStreamResource.release(config)]);
      }
      if (hasRedis) {
        gate.useRedis(null);
        await redisResource.release(config);
      }
      // before moleculer-web closes its server: open streams would hold it open
      live.stop();
    },
  };
}
