/**
 * Moleculer broker options.
 *
 * Environment (read once by src/lib/config.ts):
 *   TRANSPORTER  "nats" (default: NATS_URL), "none" (every service in this process,
 *                no network between them), or any Moleculer transporter URL
 *   NATS_URL     NATS server(s), comma separated           (nats://127.0.0.1:4222)
 *   NODE_ID      this node's id                           (hostname-pid)
 *   SERVICES     the services this node runs             (all five)
 *   LOG_LEVEL    fatal | error | warn | info | debug      (info)
 *   METRICS_PORT a node without the gateway serves Prometheus metrics on this port
 *   REQUEST_TIMEOUT_MS  how long a call between services may take   (10000)
 * The rest (ports, Redis, PostgreSQL, stream names, limits) is listed in README.md.
 */
import type { BrokerOptions } from "moleculer";
import type { Config } from "./src/lib/config.ts";
import { ScrapeReporter } from "./src/lib/metrics.ts";
import { brokerMiddlewares } from "./src/lib/action-metrics.ts";

export function brokerOptions(config: Readonly<Config>): BrokerOptions {
  return {
    namespace: `flash-${config.streamPrefix.toLowerCase()}`,
    nodeID: config.nodeId,
    transporter: config.transporter ? { type: "NATS", options: { url: config.transporter } } : null,
    serializer: "JSON",
    logger: {
      type: "Console",
      options: { level: config.logLevel, formatter: "short", colors: process.stdout.isTTY === true },
    },
    requestTimeout: config.requestTimeoutMs,
    retryPolicy: { enabled: false },
    // The inventory's Shard strategy must see every call: a local endpoint may not
    // bypass it, or a product would be served by two nodes at once.
    registry: { strategy: "RoundRobin", preferLocal: false },
    circuitBreaker: { enabled: false },
    bulkhead: { enabled: false },
    validator: true,
    // The gateway renders its node's metrics at GET /metrics; other nodes may serve
    // theirs on METRICS_PORT with Moleculer's Prometheus reporter.
    metrics: {
      enabled: true,
      reporter: config.services.includes("gateway")
        ? [new ScrapeReporter() as never]
        : config.metricsPort
          ? [{ type: "Prometheus", options: { port: config.metricsPort } }]
          : [],
    },
    tracing: { enabled: false },
    // moleculer's own middlewares, with a cheaper per-action Metrics (src/lib/action-metrics.ts)
    internalMiddlewares: false,
    middlewares: brokerMiddlewares() as BrokerOptions["middlewares"],
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
  };
}
