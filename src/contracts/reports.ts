/**
 * What the operator's actions answer: a shard's counters (inventory.shard), the order
 * pipeline's readings (orders.refreshMetrics), the audit (sweeper.audit, GET
 * /api/admin/audit) and a sweep (sweeper.sweep); read by the REPL, the dashboard and
 * the gateway.
 */

/** A shard's counters (inventory.shard adds the `node_id` that owns it). */
export interface ShardState {
  loaded: boolean;
  epoch: string | null;
  stock_total: number;
  available: number;
  reserved: number;
  sold: number;
  /** number of reservation records, and the units they hold */
  reservations: number;
  reservation_units: number;
  /** a line's (API.md, Fair access): units set aside for entries, and entries admitted and not yet used or expired, of per_entry units each */
  aside: number;
  open_entries: number;
  per_entry: number;
}

/** The orders by status in PostgreSQL, and the order stream's backlog (null: the stream did not answer). */
export interface PipelineReading {
  orders_by_status: Record<string, number>;
  /** order.reserved messages not yet written to PostgreSQL */
  stream_lag: number | null;
  dead_letters: number | null;
}

/** One invariant that does not hold: which, what it says, and by how much. */
export interface AuditFailure {
  invariant: string;
  detail: string;
  by: number;
}

/**
 * One product's line of the audit. `drift` is available + reserved + sold - stock_total
 * in the shard: 0 when nothing leaked or oversold.
 */
export interface ProductAudit {
  id: number;
  stock_total: number;
  available: number;
  reserved: number;
  pending: number;
  paid: number;
  consistent: boolean;
  drift: number;
  failures: AuditFailure[];
}

export interface AuditReport {
  ok: boolean;
  products: ProductAudit[];
  pipeline: { drained: boolean; in_flight: number; dead_letters: number };
}

export interface SweepReport {
  expired: number;
  released: number;
  committed: number;
  orphans: number;
}
