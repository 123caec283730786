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
 *   HEARTBEAT_INTERVAL_S / HEARTBEAT_TIMEOUT_S  node liveness            (1 / 4)
 * The rest (ports, Redis, PostgreSQL, stream names, limits) is listed in docs/configuration.md.
 */
import type { BrokerOptions } from "moleculer";
import type { Config } from "./src/lib/config.ts";
import { ScrapeReporter } from "./src/lib/metrics.ts";
import { brokerMiddlewares } from "./src/lib/action-metrics.ts";
import { BatchingNatsTransporter } from "./src/lib/nats-transporter.ts";
import { WITHDRAW_ACK_MS } from "./src/lib/lifecycle.ts";

export function brokerOptions(config: Readonly<Config>): BrokerOptions {
  return {
    namespace: `flash-${config.streamPrefix.toLowerCase()}`,
    nodeID: config.nodeId,
    // NATS, with the packets of one event-loop turn written together (src/lib/nats-transporter.ts)
    transporter: config.transporter ? (new BatchingNatsTransporter({ url: config.transporter }) as unknown as BrokerOptions["transporter"]) : null,
    serializer: "JSON",
    logger: {
      type: "Console",
      options: { level: config.logLevel, formatter: "short", colors: process.stdout.isTTY === true },
    },
    // A call that gets no answer is given up after this and answered 503; the callee is
    // told the deadline (ctx.meta.deadline) and refuses work that arrives after it.
    requestTimeout: config.requestTimeoutMs,
    // Retries only where a resend cannot apply twice: off here, on per action for the
    // idempotent ones (inventory.reserveMany with caller-chosen order ids, release, commit,
    // the reads, payments.webhook on its event_id). A retry goes through the balancer
    // again, so after a node is taken off it lands on the node that took its products.
    // Only transport failures are retried (timeout, node gone, rejected): an UNAVAILABLE
    // from the callee means its own dependency is down and it has already waited.
    retryPolicy: {
      enabled: false, retries: 3, delay: 100, maxDelay: 1000, factor: 2,
      check: (err: Error) => Boolean((err as { retryable?: boolean }).retryable) && (err as { type?: string }).type !== "UNAVAILABLE",
    },
    // broker.stop() (SIGTERM) waits for the requests this node is running, within what
    // SHUTDOWN_TIMEOUT_MS leaves after the drain (which waits for the withdrawal's
    // acknowledgements up to WITHDRAW_ACK_MS): past it the process exits without a goodbye.
    tracking: { enabled: true, shutdownTimeout: Math.max(1000, config.shutdownTimeoutMs - Math.max(config.shutdownDrainMs, WITHDRAW_ACK_MS) - 2000) },
    // The inventory's Shard strategy must see every call: a local endpoint may not
    // bypass it, or a product would be served by two nodes at once.
    // stopDelay: between broker.stop()'s empty INFO and stopping the services. A draining
    // node has withdrawn its services long before, and waited until every node saw that
    // (src/lib/lifecycle.ts): this is only a second line for a node stopped otherwise.
    registry: { strategy: "RoundRobin", preferLocal: false, stopDelay: 500 },
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
    // A node killed without a goodbye is noticed when its heartbeats stop: after
    // heartbeatTimeout it is taken off, its pending calls are rejected (and retried
    // elsewhere) and the Shard strategy hands its products to the remaining nodes.
    // Seconds, not the default 30: a dead inventory node must not hold a drop hostage.
    heartbeatInterval: config.heartbeatIntervalS,
    heartbeatTimeout: config.heartbeatTimeoutS,
  };
}
