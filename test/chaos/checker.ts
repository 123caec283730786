/**
 * The checker: pure functions over a run's history, the final rows of PostgreSQL and the
 * final audit. Each check names the operations that show its anomaly, so the report can
 * print the smallest window of the history around the first one.
 *
 *   server_error        an answer 500 (a 502/504 of the balancer is an unknown outcome)
 *   oversold_read       an audit read where available + reserved + sold != stock_total, or
 *                       available < 0, or pending + paid > stock_total; a product read
 *                       with stock_available outside [0, stock_total]
 *   final_audit         the audit after the run drained is not ok
 *   final_oversold      pending + paid units > stock_total in PostgreSQL
 *   ack_lost            an order answered 202 without exactly one row in PostgreSQL with its
 *                       key; a read or a webhook answered ORDER_NOT_FOUND for an order
 *                       acknowledged before it was sent
 *   ack_rejected        an order answered 202 whose row is `rejected`
 *   refused_but_ordered a key refused for sure (409/422) and never answered 202, yet an order
 *                       with that key is in PostgreSQL
 *   two_final_states    an order seen in two final states (reads, cancel, webhook, final row),
 *                       or seen unfinished after a final state was seen
 *   replay_differs      two 202 answers of one key that differ, a refusal of a key after its
 *                       202, or two 200 answers of one webhook event that differ
 *   not_recovered       a fault after which the cluster was not whole again by itself
 */
import { isDeepStrictEqual } from "node:util";
import type { AuditReport, ProductAudit } from "../../src/contracts/reports.ts";
import type { Entry, Fault, Op } from "./history.ts";

export interface OrderRow {
  id: string;
  status: string;
  idempotency_key: string | null;
  product_id: number;
  qty: number;
}

export interface FinalState {
  orders: OrderRow[];
  products: Array<{ id: number; stock_total: number }>;
  /** GET /api/admin/audit once the run drained (null: it never answered) */
  audit: Pick<AuditReport, "ok" | "products"> & { pipeline?: AuditReport["pipeline"] } | null;
}

export interface Anomaly {
  check: string;
  message: string;
  /** ids of the operations that show it */
  ops: number[];
}

const FINAL = new Set(["paid", "cancelled", "expired", "rejected"]);
/** the invariants that must hold at every read, not only once the pipeline drained */
const ALWAYS = new Set(["shard_conservation", "shard_available_non_negative", "db_not_oversold"]);

const ops = (history: Entry[]) => history.filter((e): e is Op => e.type === "op");
const body = (op: Op) => (op.res.body ?? {}) as Record<string, any>;
const code = (op: Op) => body(op).error?.code as string | undefined;
const accepted = (op: Op) => (op.kind === "order" || op.kind === "replay") && op.res.status === 202;

export function serverErrors(history: Entry[]): Anomaly[] {
  return ops(history)
    .filter((op) => op.res.status === 500)
    .map((op) => ({ check: "server_error", message: `${op.req.method} ${op.req.path} answered 500: ${JSON.stringify(op.res.body).slice(0, 200)}`, ops: [op.id] }));
}

export function oversoldReads(history: Entry[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const op of ops(history)) {
    if (op.res.status !== 200) continue;
    if (op.kind === "audit") {
      for (const p of (body(op).products ?? []) as ProductAudit[]) {
        const bad = p.failures.filter((f) => ALWAYS.has(f.invariant));
        if (bad.length) out.push({ check: "oversold_read", message: `product ${p.id} at an audit read: ${bad.map((f) => `${f.invariant} by ${f.by}`).join(", ")}`, ops: [op.id] });
      }
    } else if (op.kind === "read-product") {
      const p = body(op);
      if (p.stock_available < 0 || p.stock_available > p.stock_total) {
        out.push({ check: "oversold_read", message: `product ${p.id} read with stock_available ${p.stock_available} of ${p.stock_total}`, ops: [op.id] });
      }
    }
  }
  return out;
}

export function finalState(final: FinalState): Anomaly[] {
  const out: Anomaly[] = [];
  if (!final.audit) out.push({ check: "final_audit", message: "the audit never answered after the run", ops: [] });
  else if (!final.audit.ok) {
    const failures = final.audit.products.flatMap((p) => p.failures.map((f) => `product ${p.id}: ${f.invariant} by ${f.by}`));
    out.push({ check: "final_audit", message: `the audit after the run is not ok: ${failures.join("; ") || JSON.stringify(final.audit.pipeline)}`, ops: [] });
  }
  for (const p of final.products) {
    const held = final.orders.filter((o) => o.product_id === p.id && (o.status === "pending" || o.status === "paid")).reduce((n, o) => n + o.qty, 0);
    if (held > p.stock_total) out.push({ check: "final_oversold", message: `product ${p.id}: ${held} units pending or paid of ${p.stock_total}`, ops: [] });
  }
  return out;
}

export function acknowledgedOrders(history: Entry[], final: FinalState): Anomaly[] {
  const out: Anomaly[] = [];
  const rowsById = new Map(final.orders.map((r) => [r.id, r]));
  const rowsByKey = new Map<string, OrderRow[]>();
  for (const r of final.orders) if (r.idempotency_key !== null) rowsByKey.set(r.idempotency_key, [...(rowsByKey.get(r.idempotency_key) ?? []), r]);
  // the first acknowledgement of each order id
  const acks = new Map<string, Op>();
  for (const op of ops(history)) if (accepted(op) && !acks.has(body(op).order_id)) acks.set(body(op).order_id, op);
  for (const [id, op] of acks) {
    const row = rowsById.get(id);
    const ofKey = rowsByKey.get(op.req.key!) ?? [];
    if (!row || row.idempotency_key !== op.req.key || ofKey.length !== 1) {
      out.push({ check: "ack_lost", message: `order ${id} (key ${op.req.key}) was answered 202 but PostgreSQL has ${row ? `it with key ${row.idempotency_key}` : "no such row"} and ${ofKey.length} row(s) of its key`, ops: [op.id] });
    } else if (row.status === "rejected") {
      out.push({ check: "ack_rejected", message: `order ${id} was answered 202 and is rejected`, ops: [op.id] });
    }
  }
  // an order read or paid after its 202 must be found
  for (const op of ops(history)) {
    if ((op.kind !== "read-order" && op.kind !== "pay" && op.kind !== "cancel") || op.res.status !== 404 || code(op) !== "ORDER_NOT_FOUND") continue;
    const id = op.kind === "pay" ? (op.req.body?.order_id as string) : op.req.path.split("/")[3];
    const ack = acks.get(id);
    if (ack && ack.complete < op.invoke) out.push({ check: "ack_lost", message: `order ${id}, answered 202, was not found by ${op.kind} later`, ops: [ack.id, op.id] });
  }
  // a key refused for sure, never accepted, has no order
  const byKey = new Map<string, Op[]>();
  for (const op of ops(history)) if ((op.kind === "order" || op.kind === "replay") && op.req.key) byKey.set(op.req.key, [...(byKey.get(op.req.key) ?? []), op]);
  for (const [key, attempts] of byKey) {
    if (attempts.some(accepted)) continue;
    const refused = attempts.filter((op) => op.res.status === 409 || op.res.status === 422);
    if (refused.length && rowsByKey.has(key)) {
      out.push({ check: "refused_but_ordered", message: `key ${key} was refused (${refused.map(code).join(", ")}) and never accepted, yet order ${rowsByKey.get(key)![0].id} has it`, ops: attempts.map((op) => op.id) });
    }
  }
  return out;
}

/** What an operation says of an order's status: [order id, status] or null. */
function observed(op: Op): [string, string] | null {
  if (op.outcome !== "ok") return null;
  const b = body(op);
  if (op.kind === "read-order" || op.kind === "cancel") return typeof b.status === "string" ? [b.order_id ?? op.req.path.split("/")[3], b.status] : null;
  if (op.kind === "pay" && op.res.status === 200 && typeof b.order_status === "string") return [op.req.body!.order_id as string, b.order_status];
  return null;
}

export function finalStates(history: Entry[], final: FinalState): Anomaly[] {
  const out: Anomaly[] = [];
  const seen = new Map<string, Op[]>();
  for (const op of ops(history)) {
    const o = observed(op);
    if (o) seen.set(o[0], [...(seen.get(o[0]) ?? []), op]);
  }
  const rows = new Map(final.orders.map((r) => [r.id, r]));
  for (const [id, list] of seen) {
    const finals = list.filter((op) => FINAL.has(observed(op)![1]));
    const states = new Set(finals.map((op) => observed(op)![1]));
    const row = rows.get(id);
    if (row && FINAL.has(row.status)) states.add(row.status);
    if (states.size > 1) {
      out.push({ check: "two_final_states", message: `order ${id} was seen ${[...states].join(" and ")}${row ? ` (row: ${row.status})` : ""}`, ops: finals.map((op) => op.id) });
      continue;
    }
    // once a final state was answered, no later operation sees the order unfinished
    const first = finals.reduce<Op | null>((a, op) => (a === null || op.complete < a.complete ? op : a), null);
    const later = first && list.find((op) => op.invoke > first.complete && !FINAL.has(observed(op)![1]));
    if (first && later) {
      out.push({ check: "two_final_states", message: `order ${id} was ${observed(first)![1]}, then seen ${observed(later)![1]}`, ops: [first.id, later.id] });
    }
  }
  return out;
}

export function replays(history: Entry[]): Anomaly[] {
  const out: Anomaly[] = [];
  const byKey = new Map<string, Op[]>();
  for (const op of ops(history)) if ((op.kind === "order" || op.kind === "replay") && op.req.key) byKey.set(op.req.key, [...(byKey.get(op.req.key) ?? []), op]);
  for (const [key, attempts] of byKey) {
    const acks = attempts.filter(accepted).sort((a, b) => a.complete - b.complete);
    if (!acks.length) continue;
    const differing = acks.find((op) => !isDeepStrictEqual(op.res.body, acks[0].res.body));
    if (differing) {
      out.push({ check: "replay_differs", message: `key ${key}: ${JSON.stringify(acks[0].res.body)} then ${JSON.stringify(differing.res.body)}`, ops: [acks[0].id, differing.id] });
      continue;
    }
    const forgotten = attempts.find((op) => op.invoke > acks[0].complete && (op.res.status === 409 || op.res.status === 422));
    if (forgotten) out.push({ check: "replay_differs", message: `key ${key} was answered 202, then ${forgotten.res.status} ${code(forgotten)}`, ops: [acks[0].id, forgotten.id] });
  }
  const byEvent = new Map<string, Op[]>();
  for (const op of ops(history)) {
    if (op.kind !== "pay" || op.res.status !== 200) continue;
    const event = op.req.body!.event_id as string;
    byEvent.set(event, [...(byEvent.get(event) ?? []), op]);
  }
  for (const [event, answers] of byEvent) {
    answers.sort((a, b) => a.complete - b.complete);
    const differing = answers.find((op) => !isDeepStrictEqual(op.res.body, answers[0].res.body));
    if (differing) out.push({ check: "replay_differs", message: `webhook ${event}: ${JSON.stringify(answers[0].res.body)} then ${JSON.stringify(differing.res.body)}`, ops: [answers[0].id, differing.id] });
  }
  return out;
}

export function recovery(history: Entry[]): Anomaly[] {
  return history
    .filter((e): e is Fault => e.type === "fault" && e.recoveredAfterMs === null)
    .map((f) => ({ check: "not_recovered", message: `after ${f.kind} of ${f.target} (${f.start}..${f.end} ms) the cluster was not whole again`, ops: [f.id] }));
}

/** Every check; the anomalies in the order their first operation completed. */
export function check(history: Entry[], final: FinalState): Anomaly[] {
  const at = new Map(history.map((e) => [e.id, e.type === "op" ? e.complete : e.end]));
  const when = (a: Anomaly) => (a.ops.length ? Math.min(...a.ops.map((id) => at.get(id) ?? Infinity)) : Infinity);
  return [
    ...serverErrors(history),
    ...oversoldReads(history),
    ...acknowledgedOrders(history, final),
    ...finalStates(history, final),
    ...replays(history),
    ...recovery(history),
    ...finalState(final),
  ].sort((a, b) => when(a) - when(b));
}

/** The order ids and idempotency keys an operation concerns. */
function subjects(op: Op): string[] {
  const b = body(op);
  return [op.req.key, b.order_id, op.req.body?.order_id as string | undefined, op.req.path.split("/")[3]].filter((x): x is string => typeof x === "string" && x.length > 8);
}

/**
 * The smallest window of the history that shows an anomaly: the span from the first
 * invoke to the last completion of its operations; in it, its operations, every other
 * operation on the same keys and orders, and every fault that overlapped it (the rest
 * that overlapped is only counted).
 */
export function windowOf(history: Entry[], anomaly: Anomaly): { from: number; to: number; entries: Entry[]; others: number } {
  const mine = history.filter((e) => anomaly.ops.includes(e.id));
  if (!mine.length) return { from: 0, to: 0, entries: [], others: 0 };
  const from = Math.min(...mine.map((e) => (e.type === "op" ? e.invoke : e.start)));
  const to = Math.max(...mine.map((e) => (e.type === "op" ? e.complete : e.end)));
  const about = new Set(mine.flatMap((e) => (e.type === "op" ? subjects(e) : [])));
  const overlaps = history.filter((e) => (e.type === "op" ? e.invoke <= to && e.complete >= from : e.start <= to && e.end >= from));
  const shown = (e: Entry) => e.type === "fault" || anomaly.ops.includes(e.id) || subjects(e).some((x) => about.has(x));
  const begins = (e: Entry) => (e.type === "op" ? e.invoke : e.start);
  return { from, to, entries: overlaps.filter(shown).sort((a, b) => begins(a) - begins(b)), others: overlaps.filter((e) => !shown(e)).length };
}
