/**
 * The dashboard's arithmetic, pure: from successive readings of the cluster (each
 * gateway node's cumulative answer counters and latency buckets, the shards, the
 * pipeline) to what an operator watches — requests per second by answer summed over
 * the gateway nodes, p50/p99 over the last seconds, and a short history per product.
 * Counters are cumulative per node; a node that restarted (its counter went down)
 * counts from zero again, a node seen for the first time only sets its baseline.
 */
import type { PipelineReading } from "../contracts/reports.ts";
import type { LineStats } from "../contracts/line.ts";

/** One gateway node's `gateway.dashboardNode` answer. */
export interface GatewayReading {
  node_id: string;
  /** cumulative answers of POST /api/orders */
  answers: Array<{ status: string; code: string; count: number }>;
  /** cumulative latency histogram: upper bound (ms) → answers at or under it; count includes the slower ones */
  duration: { count: number; buckets: Record<string, number> };
}

/**
 * A product's line as the dashboard shows it (`inventory.lineStats`, read by its owner):
 * waiting, entries open (admitted, not yet used), used and expired unused (no-shows),
 * left, entries per second lately, the pace and the pause.
 */
export type LineReading = Pick<LineStats,
  "access" | "joined" | "waiting" | "admitted" | "open_entries" | "used" | "expired" | "left" | "admitted_per_second" | "paused" | "admit_per_second">;

export interface ProductReading {
  id: number;
  name: string | null;
  loaded: boolean;
  stock_total: number;
  available: number;
  reserved: number;
  sold: number;
  /** the product's line (sold through a queue or a draw); null when it is sold open or its line could not be read */
  line: LineReading | null;
}

export interface AuditVerdict {
  ok: boolean;
  inconsistent_products: number;
  failures: Array<{ product_id: number; invariant: string; by: number }>;
  drained: boolean;
  dead_letters: number;
  checked_at: string;
}

export interface NodeReading {
  id: string;
  available: boolean;
  local: boolean;
  services: string[];
  /** shutting down (unready, finishing its work); null when the node did not say */
  draining: boolean | null;
  /** an unavailable node (it vanished: no goodbye, its heartbeats stopped) leaves the list at this time; null while available */
  listed_until: string | null;
}

/**
 * How long a node that vanished (no goodbye: its heartbeats stopped for
 * HEARTBEAT_TIMEOUT_S) stays listed as unavailable before the list drops it. A node
 * that left cleanly (a stopped node, the REPL closed) leaves the list at once.
 */
export const VANISHED_NODE_LISTED_MS = 5 * 60_000;

/** How a node left the cluster: with a goodbye (`clean`) or not, and when. */
export interface Departure {
  clean: boolean;
  at: number;
}

/**
 * The nodes the dashboard lists at `now`: every available one; an unavailable one only
 * if it vanished less than `listedMs` ago (with the time it leaves the list); none that
 * left cleanly. An unavailable node without a known departure counts as vanished now.
 */
export function listedNodes<T extends { id: string; available: boolean }>(
  nodes: T[], departures: ReadonlyMap<string, Departure>, now: number, listedMs = VANISHED_NODE_LISTED_MS,
): Array<T & { listed_until: string | null }> {
  return nodes.flatMap((n): Array<T & { listed_until: string | null }> => {
    if (n.available) return [{ ...n, listed_until: null }];
    const left = departures.get(n.id) ?? { clean: false, at: now };
    if (left.clean || now >= left.at + listedMs) return [];
    return [{ ...n, listed_until: new Date(left.at + listedMs).toISOString() }];
  });
}

export interface ClusterReading {
  at: number;
  gateways: GatewayReading[];
  products: ProductReading[];
  pipeline: PipelineReading | null;
  audit: AuditVerdict | null;
  nodes: NodeReading[];
}

export interface DashboardSnapshot {
  at: string;
  requests: {
    /** answers per second over the last interval, by answer ("202", "409 SOLD_OUT", "429", "503", ...) */
    per_second: Record<string, number>;
    total_per_second: number;
    /** answers since each node started, summed over the nodes */
    totals: Record<string, number>;
    by_node: Array<{ node_id: string; per_second: number; total: number }>;
    history: number[];
  };
  latency_ms: { p50: number | null; p99: number | null; window_seconds: number };
  products: Array<ProductReading & { history: { available: number[]; reserved: number[]; sold: number[] } }>;
  pipeline: PipelineReading | null;
  audit: AuditVerdict | null;
  nodes: Array<NodeReading & { per_second: number | null }>;
}

/** points of history kept per series (one per reading) */
export const HISTORY_POINTS = 60;
/** readings the latency quantiles are computed over */
const LATENCY_WINDOW = 5;

/** "409 SOLD_OUT" for a refusal with a code that matters to the operator, else the status alone */
export function answerKey(status: string, code: string): string {
  return status === "409" ? `${status} ${code}` : status;
}

/**
 * The q-quantile of the observations a cumulative histogram holds, interpolated
 * linearly inside the bucket it falls in (as Prometheus' histogram_quantile does);
 * the highest bound when it falls beyond it; null without observations.
 */
export function quantileFromBuckets(buckets: Record<string, number>, count: number, q: number): number | null {
  if (count <= 0) return null;
  const bounds = Object.keys(buckets).map(Number).sort((a, b) => a - b);
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const c = buckets[String(bound)] ?? 0;
    if (c >= rank) {
      const inBucket = c - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = c;
  }
  return bounds.length > 0 ? bounds[bounds.length - 1] : null;
}

const since = (now: number, before: number | undefined) => (before === undefined ? 0 : now >= before ? now - before : now);
const push = (series: number[], v: number) => {
  series.push(v);
  if (series.length > HISTORY_POINTS) series.shift();
};
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

interface NodeCounters {
  answers: Map<string, number>;
  durationCount: number;
  buckets: Record<string, number>;
}

export class DashboardView {
  #lastAt: number | null = null;
  #nodes = new Map<string, NodeCounters>();
  #latency: Array<{ count: number; buckets: Record<string, number>; seconds: number }> = [];
  #rateHistory: number[] = [];
  #products = new Map<number, { available: number[]; reserved: number[]; sold: number[] }>();

  /** Folds one reading in and returns the snapshot to show. */
  next(reading: ClusterReading): DashboardSnapshot {
    const seconds = this.#lastAt === null ? 0 : Math.max((reading.at - this.#lastAt) / 1000, 0.001);
    this.#lastAt = reading.at;

    const perSecond: Record<string, number> = {};
    const totals: Record<string, number> = {};
    const byNode: DashboardSnapshot["requests"]["by_node"] = [];
    const windowBuckets: Record<string, number> = {};
    let windowCount = 0;
    const seen = new Set<string>();

    for (const g of reading.gateways) {
      seen.add(g.node_id);
      const before = this.#nodes.get(g.node_id);
      const now: NodeCounters = { answers: new Map(), durationCount: g.duration.count, buckets: g.duration.buckets };
      let nodeDelta = 0;
      let nodeTotal = 0;
      for (const a of g.answers) {
        const key = answerKey(a.status, a.code);
        now.answers.set(key, (now.answers.get(key) ?? 0) + a.count);
      }
      for (const [key, count] of now.answers) {
        const delta = before ? since(count, before.answers.get(key) ?? 0) : 0;
        totals[key] = (totals[key] ?? 0) + count;
        nodeTotal += count;
        nodeDelta += delta;
        if (seconds > 0) perSecond[key] = (perSecond[key] ?? 0) + delta / seconds;
      }
      if (before) {
        const restarted = now.durationCount < before.durationCount;
        windowCount += restarted ? now.durationCount : now.durationCount - before.durationCount;
        for (const [bound, c] of Object.entries(now.buckets)) {
          windowBuckets[bound] = (windowBuckets[bound] ?? 0) + (restarted ? c : c - (before.buckets[bound] ?? 0));
        }
      }
      this.#nodes.set(g.node_id, now);
      byNode.push({ node_id: g.node_id, per_second: seconds > 0 ? round(nodeDelta / seconds) : 0, total: nodeTotal });
    }
    for (const id of [...this.#nodes.keys()]) if (!seen.has(id)) this.#nodes.delete(id);

    if (seconds > 0) {
      this.#latency.push({ count: windowCount, buckets: windowBuckets, seconds });
      if (this.#latency.length > LATENCY_WINDOW) this.#latency.shift();
    }
    const merged: Record<string, number> = {};
    let mergedCount = 0;
    let windowSeconds = 0;
    for (const w of this.#latency) {
      mergedCount += w.count;
      windowSeconds += w.seconds;
      for (const [bound, c] of Object.entries(w.buckets)) merged[bound] = (merged[bound] ?? 0) + c;
    }

    const total = Object.values(perSecond).reduce((a, b) => a + b, 0);
    if (seconds > 0) push(this.#rateHistory, round(total));
    for (const key of Object.keys(perSecond)) perSecond[key] = round(perSecond[key]);

    const products = reading.products.map((p) => {
      const h = this.#products.get(p.id) ?? { available: [], reserved: [], sold: [] };
      this.#products.set(p.id, h);
      push(h.available, p.available);
      push(h.reserved, p.reserved);
      push(h.sold, p.sold);
      return { ...p, history: { available: [...h.available], reserved: [...h.reserved], sold: [...h.sold] } };
    });
    const shown = new Set(reading.products.map((p) => p.id));
    for (const id of [...this.#products.keys()]) if (!shown.has(id)) this.#products.delete(id);

    const rateOf = new Map(byNode.map((n) => [n.node_id, n.per_second]));
    const q = (p: number) => {
      const v = quantileFromBuckets(merged, mergedCount, p);
      return v === null ? null : round(v, 2);
    };
    return {
      at: new Date(reading.at).toISOString(),
      requests: { per_second: perSecond, total_per_second: round(total), totals, by_node: byNode, history: [...this.#rateHistory] },
      latency_ms: { p50: q(0.5), p99: q(0.99), window_seconds: round(windowSeconds) },
      products,
      pipeline: reading.pipeline,
      audit: reading.audit,
      nodes: reading.nodes.map((n) => ({ ...n, per_second: rateOf.get(n.id) ?? null })),
    };
  }
}
