/**
 * The dashboard's data, read through the cluster once a second while someone watches:
 * every gateway node's answer counters (`gateway.dashboardNode`, called on each node
 * by its id), each product's shard and, for a product sold through a line, its line
 * (`inventory.lineStats`: one more call per such product), the pipeline (orders by status, stream lag, dead
 * letters: `orders.refreshMetrics`), the audit (every AUDIT_EVERY_MS, in the
 * background: it reads every shard) and the registry's nodes (each one's lifecycle
 * state: draining or not; a node that left cleanly is not listed, one that vanished is
 * listed as unavailable for VANISHED_NODE_LISTED_MS). One feed per gateway node serves
 * all its viewers; it stops reading when the last one leaves, and a new viewer is only
 * handed a snapshot at most FRESH_MS old (else the reading started for them).
 */
import type { ServiceBroker } from "moleculer";
import { METRIC } from "../lib/metrics.ts";
import { mapLimit } from "../lib/concurrency.ts";
import {
  DashboardView, listedNodes, VANISHED_NODE_LISTED_MS, type AuditVerdict, type Departure, type ClusterReading, type DashboardSnapshot, type GatewayReading,
  type LineReading, type NodeReading, type ProductReading,
} from "./dashboard-view.ts";
import type { AuditReport, PipelineReading, ShardState } from "../contracts/reports.ts";
import type { ProductView } from "../contracts/product-view.ts";
import type { LineStats } from "../contracts/line.ts";

export const DASHBOARD_TICK_MS = 1000;
/** the oldest snapshot a new viewer is shown first */
export const FRESH_MS = 2 * DASHBOARD_TICK_MS;
const AUDIT_EVERY_MS = 10_000;
/** the dashboard shows the most recent products (highest ids): a drop is a handful of them */
const MAX_PRODUCTS = 24;
const CALL = { timeout: 2000, retries: 0 } as const;

type Listener = (snapshot: DashboardSnapshot) => void;

interface MetricSnapshot {
  labels: Record<string, string>;
  value?: number;
  count?: number;
  buckets?: Record<string, number>;
}
interface Registry {
  getMetric(name: string): { snapshot(): MetricSnapshot[] } | null;
}

/** This node's cumulative order answers and latency buckets (the answer of `gateway.dashboardNode`). */
export function gatewayReading(nodeId: string, registry: Registry): GatewayReading {
  const answers = (registry.getMetric(METRIC.orderAnswers)?.snapshot() ?? []).map((s) => ({
    status: String(s.labels.status), code: String(s.labels.code), count: s.value ?? 0,
  }));
  const d = registry.getMetric(METRIC.orderDuration)?.snapshot()[0];
  return { node_id: nodeId, answers, duration: { count: d?.count ?? 0, buckets: d?.buckets ?? {} } };
}

export class DashboardFeed {
  readonly #broker: ServiceBroker;
  readonly #listedMs: number;
  #view = new DashboardView();
  readonly #listeners = new Set<Listener>();
  /** what does not change once a product exists: its name and how it is sold */
  readonly #known = new Map<number, Pick<ProductView, "name" | "access">>();
  /** how and when each node that went unavailable left (Moleculer's $node.disconnected) */
  readonly #departures = new Map<string, Departure>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #latest: DashboardSnapshot | null = null;
  #audit: AuditVerdict | null = null;
  #auditAt = 0;
  #auditRunning = false;

  /** `vanishedListedMs`: how long a vanished node stays listed (tests shorten it) */
  constructor(broker: ServiceBroker, { vanishedListedMs = VANISHED_NODE_LISTED_MS } = {}) {
    this.#broker = broker;
    this.#listedMs = vanishedListedMs;
    broker.localBus.on("$node.disconnected", ({ node, unexpected }: { node: { id: string }; unexpected: boolean }) => {
      this.#departures.set(node.id, { clean: !unexpected, at: Date.now() });
    });
  }

  /** Calls `listener` with every snapshot (the latest one at once if fresh, else the next); returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#latest && Date.now() - Date.parse(this.#latest.at) <= FRESH_MS) listener(this.#latest);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#tick(), DASHBOARD_TICK_MS);
      void this.#tick();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** Stops reading; the next viewer starts afresh (no stale snapshot, no rate over the pause). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#latest = null;
    this.#view = new DashboardView();
  }

  async #tick(): Promise<void> {
    // a slow cluster skips readings rather than piling them up
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      this.#maybeAudit();
      const [gateways, products, pipeline, nodes] = await Promise.all([this.#gateways(), this.#products(), this.#pipeline(), this.#nodes()]);
      const reading: ClusterReading = { at: Date.now(), gateways, products, pipeline, audit: this.#audit, nodes };
      this.#latest = this.#view.next(reading);
      for (const l of this.#listeners) l(this.#latest);
    } catch (err) {
      this.#broker.logger.warn(`dashboard reading failed: ${(err as Error).message}`);
    } finally {
      this.#ticking = false;
    }
  }

  async #gateways(): Promise<GatewayReading[]> {
    const list = this.#broker.registry.getActionEndpoints("gateway.dashboardNode") as unknown as
      { endpoints: Array<{ id: string; state: boolean; node: { available: boolean } }> } | null;
    const ids = (list?.endpoints ?? []).filter((e) => e.state && e.node.available).map((e) => e.id);
    const readings = await Promise.all(ids.map((nodeID) =>
      this.#broker.call<GatewayReading, object>("gateway.dashboardNode", {}, { ...CALL, nodeID }).catch(() => null),
    ));
    return readings.filter((r): r is GatewayReading => r !== null).sort((a, b) => a.node_id.localeCompare(b.node_id));
  }

  async #products(): Promise<ProductReading[]> {
    const ids = await this.#broker.call<number[], object>("inventory.products", {}, CALL).catch(() => [] as number[]);
    const shown = ids.slice(-MAX_PRODUCTS);
    const read = await mapLimit(shown, 8, async (id) => {
      const known = this.#known.get(id) ?? await this.#broker.call<ProductView, object>("inventory.product", { id }, CALL).then(
        ({ name, access }) => {
          this.#known.set(id, { name, access });
          return { name, access };
        },
        () => null,
      );
      const [shard, line] = await Promise.all([
        this.#broker.call<ShardState, object>("inventory.shard", { product_id: id }, CALL).catch(() => null),
        known && known.access !== "open" ? this.#line(id) : null,
      ]);
      if (!shard) return null;
      const { loaded, stock_total, available, reserved, sold } = shard;
      return { id, name: known?.name ?? null, loaded, stock_total, available, reserved, sold, line };
    });
    for (const id of [...this.#known.keys()]) if (!shown.includes(id)) this.#known.delete(id);
    return read.filter((p): p is ProductReading => p !== null);
  }

  /** A line product's line, as its owner counts it (null when it could not be read this time). */
  async #line(productId: number): Promise<LineReading | null> {
    const s = await this.#broker.call<LineStats, object>("inventory.lineStats", { product_id: productId }, CALL).catch(() => null);
    if (!s) return null;
    const { access, joined, waiting, admitted, open_entries, used, expired, left, admitted_per_second, paused, admit_per_second } = s;
    return { access, joined, waiting, admitted, open_entries, used, expired, left, admitted_per_second, paused, admit_per_second };
  }

  #pipeline(): Promise<PipelineReading | null> {
    return this.#broker.call<PipelineReading, object>("orders.refreshMetrics", {}, CALL).catch(() => null);
  }

  async #nodes(): Promise<NodeReading[]> {
    const all = this.#broker.registry.getNodeList({ onlyAvailable: false, withServices: true }) as unknown as
      Array<{ id: string; available: boolean; local: boolean; offlineSince: number | null; services: Array<{ name: string }> }>;
    const now = Date.now();
    const known = new Set(all.map((n) => n.id));
    for (const id of [...this.#departures.keys()]) if (!known.has(id)) this.#departures.delete(id);
    for (const n of all) {
      if (n.available) this.#departures.delete(n.id);
      // unavailable before this feed listened: since Moleculer's offlineSince (process uptime, seconds)
      else if (!this.#departures.has(n.id)) {
        const at = n.offlineSince === null ? now : now - (process.uptime() - n.offlineSince) * 1000;
        this.#departures.set(n.id, { clean: false, at });
      }
    }
    const nodes = listedNodes(all, this.#departures, now, this.#listedMs);
    return Promise.all(nodes
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(async (n) => {
        const services = [...new Set((n.services ?? []).map((s) => s.name).filter((s) => !s.startsWith("$")))].sort();
        // a draining node is still in the registry: its own lifecycle service says so
        const state = n.available && services.includes("lifecycle")
          ? await this.#broker.call<{ draining: boolean }, object>("lifecycle.state", {}, { ...CALL, nodeID: n.id }).catch(() => null)
          : null;
        return {
          id: n.id, available: n.available, local: n.local, services, draining: state ? state.draining : null, listed_until: n.listed_until,
        };
      }));
  }

  #maybeAudit(): void {
    if (this.#auditRunning || Date.now() - this.#auditAt < AUDIT_EVERY_MS) return;
    this.#auditRunning = true;
    this.#broker
      .call<AuditReport, object>(
        "sweeper.audit", {}, { timeout: 60_000, retries: 0 },
      )
      .then((r) => {
        this.#audit = {
          ok: r.ok,
          inconsistent_products: r.products.filter((p) => !p.consistent).length,
          failures: r.products.flatMap((p) => p.failures.map((f) => ({ product_id: p.id, invariant: f.invariant, by: f.by }))).slice(0, 10),
          drained: r.pipeline.drained,
          dead_letters: r.pipeline.dead_letters,
          checked_at: new Date().toISOString(),
        };
      })
      .catch((err: Error) => this.#broker.logger.warn(`dashboard audit failed: ${err.message}`))
      .finally(() => {
        this.#auditAt = Date.now();
        this.#auditRunning = false;
      });
  }
}
