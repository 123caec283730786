/**
 * Races of a line (API.md, "Fair access", rules 2 and 4), looped over a real stack, each
 * named interleaving shown to have happened:
 * - two different orders with one entry: one 202, one 409 ENTRY_USED, whichever was sent
 *   first; the winner's retry with its Idempotency-Key replays it;
 * - admitted buyers ordering while open buyers hammer the product without entries, a
 *   restock lands and a paid-for unit is cancelled: no admitted buyer is ever told
 *   SOLD_OUT or INSUFFICIENT_STOCK, and the audit (units set aside included) holds.
 */
import { jest } from "@jest/globals";
import { useStack, type Stack } from "../support/stack.ts";
import { Interleavings, staggered } from "../support/interleavings.ts";
import { log } from "../support/events.ts";
import { audit as auditOf } from "../support/orders.ts";
import { LINE_CHANGED_EVENT, type LineChanged, type LineJoined, type TicketReading } from "../../src/contracts/line.ts";

jest.setTimeout(180_000);

let stack: Stack;
useStack((s) => (stack = s), { RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000" }, { events: true });

const call = <T>(action: string, params: object) => stack.broker.call<T, object>(`inventory.${action}`, params);
const auth = { authorization: "Bearer test-admin-token" };

/** A queue product whose sale starts at once, `users` joined; resolves once `admitted` of them hold entries. */
async function lineWithEntries(stock: number, users: string[], admitted: number) {
  const p = await stack.createProduct({
    stock, max_per_order: 1, per_user_limit: 1, access: "queue", sale_starts_at: new Date(Date.now() + 300).toISOString(),
  });
  const tickets = new Map<string, string>();
  for (const u of users) tickets.set(u, (await call<LineJoined>("lineJoin", { product_id: p.id, user_id: u })).ticket.ticket_id);
  for (;;) {
    const since = log(stack.broker).mark();
    const readings = await Promise.all([...tickets].map(([u, t]) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: t }).then((r) => [u, r] as const)));
    const entries = readings.filter(([, r]) => r.ticket.status === "admitted");
    if (entries.length >= admitted) return { p, tickets, entries: new Map(entries.map(([u, r]) => [u, r.ticket.entry_token!])) };
    await log(stack.broker).heard<LineChanged>(LINE_CHANGED_EVENT, (e) => e.product_id === p.id && e.changed.length > 0, { since, timeoutMs: 20_000 });
  }
}

const orderWith = (productId: number, user: string, entry: string | null, key: string) =>
  stack.http("POST", "/api/orders", { product_id: productId, qty: 1, user_id: user }, {
    "idempotency-key": key, ...(entry ? { "entry-token": entry } : {}),
  });

test("two different orders with one entry: one 202 and one ENTRY_USED, whichever was sent first; the winner's retry replays", async () => {
  const seen = new Interleavings(["first sent won", "second sent won"] as const);
  for (let round = 0; round < 10; round++) {
    const { p, entries } = await lineWithEntries(1, ["w"], 1);
    const entry = entries.get("w")!;
    const [a, b] = await staggered(round, () => orderWith(p.id, "w", entry, `a-${p.id}`), () => orderWith(p.id, "w", entry, `b-${p.id}`), [0, 2, 5, 10, 20]);
    const answers = [a, b].map((r) => [r.status, r.status === 202 ? "ok" : r.body.error.code]);
    expect(answers.slice().sort()).toEqual([[202, "ok"], [409, "ENTRY_USED"]]);
    const winner = a.status === 202 ? a : b;
    const aFirst = Math.floor(round / 5) % 2 === 0; // staggered gives `a` the head start in rounds 0-4
    seen.saw((winner === a) === aFirst ? "first sent won" : "second sent won");
    const retry = await orderWith(p.id, "w", entry, winner === a ? `a-${p.id}` : `b-${p.id}`);
    expect([retry.status, retry.body.order_id, retry.headers.get("idempotent-replayed")]).toEqual([202, winner.body.order_id, "true"]);
    expect((await auditOf(stack, p.id)).products[0].consistent).toBe(true);
  }
  seen.expectEachSeen();
});

test("admitted buyers ordering amid open buyers without entries, a restock and a cancel are never told SOLD_OUT or INSUFFICIENT_STOCK; the audit holds", async () => {
  // the restock's unit is admitted by a step that runs while the entries' orders are in
  // flight, or after they were all answered: both must leave every entry its unit
  const seen = new Interleavings(["admitted while entries ordered", "admitted after the entries ordered"] as const);
  for (let round = 0; round < 8; round++) {
    const users = Array.from({ length: 6 }, (_, i) => `r${round}-${i}`);
    const { p, entries, tickets } = await lineWithEntries(3, users, 3);
    const events = log(stack.broker);
    const mark = events.mark();
    const sent = Date.now();
    const [orders, hammer, restock] = await Promise.all([
      Promise.all([...entries].map(([u, e]) => orderWith(p.id, u, e, `e-${p.id}-${u}`))),
      Promise.all(Array.from({ length: 20 }, (_, i) => orderWith(p.id, `open-${i}`, null, `o-${p.id}-${i}`))),
      staggered(round, async () => undefined, () => stack.http("POST", `/api/admin/products/${p.id}/restock`, { add: 1 }, auth), [0, 5, 15, 40]).then(([, r]) => r),
    ]);
    const answered = Date.now();
    expect(restock.status).toBe(200);
    for (const r of orders) expect([r.status, typeof r.body.order_id]).toEqual([202, "string"]);
    for (const r of hammer) expect([r.status, r.body.error.code]).toEqual([403, "ENTRY_REQUIRED"]);
    // the restock's unit goes to the line: the next ticket is admitted
    const admission = await events.heard<LineChanged>(LINE_CHANGED_EVENT, (e) => e.product_id === p.id && e.changed.length > 0, { since: mark, timeoutMs: 20_000 });
    const at = events.timed<LineChanged>(LINE_CHANGED_EVENT, mark).find((e) => e.payload === admission)!.at;
    seen.saw(at >= sent && at < answered ? "admitted while entries ordered" : "admitted after the entries ordered");
    // a cancel gives its unit back to the line too, not to whoever asks first
    expect((await stack.http("POST", `/api/orders/${orders[0].body.order_id}/cancel`)).status).toBe(200);
    let admitted: TicketReading[] = [];
    for (let since = events.mark(); admitted.length < 2; since = events.mark()) {
      const readings = await Promise.all([...tickets.values()].map((t) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: t })));
      admitted = readings.filter((t) => t.ticket.status === "admitted");
      if (admitted.length < 2) await events.heard<LineChanged>(LINE_CHANGED_EVENT, (e) => e.product_id === p.id && e.changed.length > 0, { since, timeoutMs: 20_000 });
    }
    for (const t of admitted) {
      const r = await orderWith(p.id, t.ticket.user_id, t.ticket.entry_token, `l-${p.id}-${t.ticket.user_id}`);
      expect([r.status, r.body.error?.code]).toEqual([202, undefined]);
    }
    expect((await auditOf(stack, p.id)).products).toEqual([expect.objectContaining({ consistent: true, available: 0 })]);
  }
  seen.expectEachSeen();
});
