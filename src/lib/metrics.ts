/**
 * Prometheus text for GET /metrics, from Moleculer's metric registry (request rate
 * and latency per action, plus ours). Moleculer's Prometheus reporter serves its own
 * HTTP port; this one only renders, so the gateway serves it on its route.
 */
import moleculer from "moleculer";

const PrometheusReporter = moleculer.MetricReporters.Prometheus as unknown as new (opts?: object) => {
  init(registry: unknown): void;
  stop(): Promise<void>;
  generatePrometheusResponse(): string;
  defaultLabels: unknown;
  opts: { defaultLabels?: unknown };
};
const BaseReporter = moleculer.MetricReporters.Base as unknown as { prototype: { init(registry: unknown): void } };

export class ScrapeReporter extends PrometheusReporter {
  init(registry: unknown): void {
    // the base reporter's set-up, without the Prometheus reporter's own HTTP server
    BaseReporter.prototype.init.call(this, registry);
    this.defaultLabels = this.opts.defaultLabels ?? {};
  }

  async stop(): Promise<void> {}

  render(): string {
    return this.generatePrometheusResponse();
  }
}

/** Our own metrics: registered once per broker by the service that owns each. */
export const METRIC = {
  reservations: "flash_reservations_total",
  ordersByStatus: "flash_orders",
  streamPending: "flash_order_stream_pending",
  deadLetters: "flash_order_dead_letters",
  /** answers of POST /api/orders by HTTP status and error code ("none" for a 202), per gateway node */
  orderAnswers: "flash_order_answers_total",
  /** time from the request's arrival to its answer at the gateway, milliseconds */
  orderDuration: "flash_order_duration_ms",
  reserveBatches: "flash_reserve_batches_total",
  reserveBatched: "flash_reserve_batched_requests_total",
  shardLoads: "flash_shard_loads_total",
  httpResponses: "flash_http_responses_total",
  auditOk: "flash_audit_ok",
  auditInconsistentProducts: "flash_audit_inconsistent_products",
  redisMasterReplicas: "flash_redis_master_replicas",
  liveStreams: "flash_live_streams",
  liveStreamsDropped: "flash_live_streams_dropped_total",
  lineWaiting: "flash_line_waiting",
  lineOpenEntries: "flash_line_open_entries",
  lineAdmitted: "flash_line_admitted",
  lineUsed: "flash_line_used",
  lineNoShows: "flash_line_no_shows",
  lineAdmittedPerSecond: "flash_line_admitted_per_second",
} as const;

/** bucket bounds of flash_order_duration_ms: a drop's answers are milliseconds, a stalled dependency seconds */
export const ORDER_DURATION_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
