import { auditProduct, type DbReading, type ShardReading } from "../../src/domain/audit.ts";

const shard: ShardReading = { loaded: true, stock_total: 100, available: 60, reserved: 30, sold: 10, reservation_units: 30 };
const db: DbReading = { stock_total: 100, stock_committed: 40, pending_units: 30, paid_units: 10, per_user_limit: 2, max_user_units: 2, doubly_applied_events: 0 };

test("a consistent product passes every invariant", () => {
  expect(auditProduct(1, shard, db, true)).toMatchObject({ consistent: true, drift: 0, failures: [], available: 60, reserved: 30, pending: 30, paid: 10 });
});

test("a leaked unit in the shard is named, with its size", () => {
  const a = auditProduct(1, { ...shard, available: 59 }, db, true);
  expect(a.consistent).toBe(false);
  expect(a.drift).toBe(-1);
  expect(a.failures).toContainEqual(expect.objectContaining({ invariant: "shard_conservation", by: -1 }));
});

test("oversold in the database is named", () => {
  const a = auditProduct(1, shard, { ...db, paid_units: 80, stock_committed: 110 }, false);
  expect(a.failures.map((f) => f.invariant)).toContain("db_not_oversold");
});

test("drained comparisons only count once the pipeline drained", () => {
  const lagging = { ...db, pending_units: 20, stock_committed: 30 };
  expect(auditProduct(1, shard, lagging, false).consistent).toBe(true);
  expect(auditProduct(1, shard, lagging, true).failures).toContainEqual(expect.objectContaining({ invariant: "drained_reserved_is_pending", by: 10 }));
});

test("per-user limit and double application of a payment are named", () => {
  const a = auditProduct(1, shard, { ...db, max_user_units: 3, doubly_applied_events: 1 }, true);
  expect(a.failures.map((f) => f.invariant).sort()).toEqual(["payment_applied_once", "per_user_limit"]);
});

test("a line's units set aside for entries count in the shard, and must be owed to open entries", () => {
  const lined = { ...shard, available: 50, aside: 10, open_entries: 5, per_entry: 2 };
  expect(auditProduct(1, lined, db, true)).toMatchObject({ consistent: true, drift: 0 });
  const leaked = auditProduct(1, { ...lined, open_entries: 4 }, db, true);
  expect(leaked.failures).toEqual([expect.objectContaining({ invariant: "line_aside_is_entries", by: 2 })]);
  expect(auditProduct(1, { ...lined, aside: 8 }, db, true).failures.map((f) => f.invariant)).toEqual(["shard_conservation", "line_aside_is_entries"]);
});
