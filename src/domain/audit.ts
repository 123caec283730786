/**
 * The invariants of DESIGN.md, checked for one product from two readings: the
 * shard's counters and the database's order totals. Pure arithmetic.
 */
import type { ProductAudit, ShardState } from "../contracts/reports.ts";

/** What the audit reads of a shard: its counters (reserved: unpaid units, sold: paid units) and the units its reservation records hold. */
export type ShardReading = Pick<ShardState, "loaded" | "stock_total" | "available" | "reserved" | "sold" | "reservation_units"> &
  Partial<Pick<ShardState, "aside" | "open_entries" | "per_entry">>;

export interface DbReading {
  stock_total: number;
  stock_committed: number;
  pending_units: number;
  paid_units: number;
  per_user_limit: number | null;
  /** the most units any one user holds (pending + paid) */
  max_user_units: number;
  /** orders with more than one applied payment event */
  doubly_applied_events: number;
}

export function auditProduct(id: number, shard: ShardReading, db: DbReading, drained: boolean): ProductAudit {
  const failures: ProductAudit["failures"] = [];
  const fail = (invariant: string, detail: string, by: number) => failures.push({ invariant, detail, by });
  const aside = shard.aside ?? 0;
  const drift = shard.available + shard.reserved + shard.sold + aside - shard.stock_total;

  if (shard.loaded) {
    if (drift !== 0) fail("shard_conservation", "available + reserved + sold + set aside for entries == stock_total in the shard", drift);
    // a line's: every unit set aside belongs to an open entry, and every open entry has its units
    const owed = (shard.open_entries ?? 0) * (shard.per_entry ?? 0);
    if (aside !== owed) fail("line_aside_is_entries", "units set aside == open entries × per_entry", aside - owed);
    if (shard.available < 0) fail("shard_available_non_negative", "available >= 0 in the shard", shard.available);
    if (shard.reservation_units !== shard.reserved) {
      fail("shard_reservations_match_counter", "reservation records add up to the reserved counter", shard.reservation_units - shard.reserved);
    }
    if (shard.stock_total !== db.stock_total) fail("stock_total_agrees", "shard stock_total == database stock_total", shard.stock_total - db.stock_total);
  }
  const committed = db.pending_units + db.paid_units;
  if (committed > db.stock_total) fail("db_not_oversold", "pending + paid units <= stock_total in the database", committed - db.stock_total);
  if (committed !== db.stock_committed) fail("db_committed_counter", "stock_committed == pending + paid units", db.stock_committed - committed);
  if (shard.loaded && drained) {
    if (shard.reserved !== db.pending_units) fail("drained_reserved_is_pending", "shard reserved == database pending units", shard.reserved - db.pending_units);
    if (shard.sold !== db.paid_units) fail("drained_sold_is_paid", "shard sold == database paid units", shard.sold - db.paid_units);
  }
  if (db.per_user_limit !== null && db.max_user_units > db.per_user_limit) {
    fail("per_user_limit", "no user holds more than per_user_limit units", db.max_user_units - db.per_user_limit);
  }
  if (db.doubly_applied_events > 0) fail("payment_applied_once", "no order has two applied payment events", db.doubly_applied_events);

  return {
    id,
    stock_total: db.stock_total,
    available: shard.available,
    reserved: shard.reserved,
    pending: db.pending_units,
    paid: db.paid_units,
    consistent: failures.length === 0,
    drift,
    failures,
  };
}
