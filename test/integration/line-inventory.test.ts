/**
 * A queue product's line through the inventory's actions (src/contracts/line.ts), on a
 * real stack: the line opened at creation with its seed's hash, joins, the draw at
 * sale_starts_at, admissions as units allow (rule 2), the entry consumed by the reserve
 * step with its units (rule 4), units back to the line (rule 3).
 */
import { jest } from "@jest/globals";
import { useStack, type Stack } from "../support/stack.ts";
import { log } from "../support/events.ts";
import { reserveMany } from "../support/reserve.ts";
import { audit as auditOf } from "../support/orders.ts";
import { LINE_CHANGED_EVENT, type LineChanged, type LineJoined, type TicketReading } from "../../src/contracts/line.ts";
import type { LineView } from "../../src/domain/line-view.ts";
import { EntryTokens } from "../../src/domain/entry-token.ts";

jest.setTimeout(60_000);

let stack: Stack;
useStack((s) => (stack = s), {}, { events: true });

const call = <T>(action: string, params: object) => stack.broker.call<T, object>(`inventory.${action}`, params);

/** A queue product whose sale (and the draw) starts `inMs` from now. */
async function queueProduct(stock: number, fields: Record<string, unknown> = {}, inMs = 1500) {
  return stack.createProduct({
    stock, per_user_limit: 2, max_per_order: 2, access: "queue", sale_starts_at: new Date(Date.now() + inMs).toISOString(), ...fields,
  });
}

test("a queue product is created with its line: the seed's hash public at once, the seed secret until the draw", async () => {
  const p = await queueProduct(3);
  expect(p).toMatchObject({ access: "queue", per_entry: 2, entry_ttl_seconds: 120, admit_per_second: null, challenge: false });
  const line = await call<LineView>("line", { product_id: p.id });
  expect(line).toMatchObject({ product_id: p.id, access: "queue", seed: null, early_joiners: null, joined: 0, algorithm: "feistel8-hmac-sha256-cyclewalk" });
  expect(line.seed_sha256).toMatch(/^[0-9a-f]{64}$/);
});

test("the access rules: a line needs sale_starts_at, a queue opens at or before it, a draw before it", async () => {
  const refused = async (fields: Record<string, unknown>) =>
    stack.http("POST", "/api/admin/products", { name: "x", price_cents: 1, stock: 1, ...fields }, { authorization: "Bearer test-admin-token" });
  const starts = new Date(Date.now() + 60_000).toISOString();
  for (const [fields, field] of [
    [{ access: "queue" }, "sale_starts_at"],
    [{ access: "queue", sale_starts_at: starts, queue_opens_at: new Date(Date.now() + 120_000).toISOString() }, "queue_opens_at"],
    [{ access: "draw", sale_starts_at: starts, queue_opens_at: starts }, "queue_opens_at"],
    [{ access: "open", queue_opens_at: starts }, "queue_opens_at"],
    [{ access: "raffle" }, "access"],
  ] as const) {
    const r = await refused(fields);
    expect([r.status, r.body.error.code, Object.keys(r.body.error.details?.fields ?? {})]).toEqual([422, "VALIDATION_ERROR", [field]]);
  }
});

test("joins before the start are drawn at it; entries go out as units allow; an entry orders once, its units taken from those set aside", async () => {
  const p = await queueProduct(3, {}, 1200);
  const joined: LineJoined[] = [];
  for (const user of ["a", "b", "c", "d"]) joined.push(await call<LineJoined>("lineJoin", { product_id: p.id, user_id: user }));
  expect(joined.map((j) => [j.created, j.ticket.status, j.ticket.join_number, j.ticket.position])).toEqual([
    [true, "waiting", 0, null], [true, "waiting", 1, null], [true, "waiting", 2, null], [true, "waiting", 3, null],
  ]);
  // joining again answers the live ticket
  const again = await call<LineJoined>("lineJoin", { product_id: p.id, user_id: "a" });
  expect([again.created, again.ticket.ticket_id]).toEqual([false, joined[0].ticket.ticket_id]);
  // no entry: refused; the units are the line's
  const [open] = await reserveMany(stack.broker, p.id, [{ qty: 1, user_id: "z" }]);
  expect(open).toMatchObject({ ok: false, code: "ENTRY_REQUIRED" });

  // 3 units, 2 per entry: one entry at a time (rule 2)
  await log(stack.broker).heard<LineChanged>(LINE_CHANGED_EVENT, (e) => e.product_id === p.id && e.changed.length > 0, { timeoutMs: 20_000 });
  const tickets = await Promise.all(joined.map((j) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: j.ticket.ticket_id })));
  const admitted = tickets.filter((t) => t.ticket.status === "admitted");
  expect(admitted).toHaveLength(1);
  const line = await call<LineView>("line", { product_id: p.id });
  expect([line.early_joiners, line.admitted, line.waiting, line.seed !== null]).toEqual([4, 1, 3, true]);
  expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(1);

  const entry = admitted[0].ticket;
  const tokens = new EntryTokens(stack.config.entryTokenSecret);
  expect(await tokens.verify(entry.entry_token!, { productId: p.id, buyer: entry.user_id })).toMatchObject({ ticketId: entry.ticket_id });
  // another buyer's entry, and a refused token: refused
  const [stolen] = await reserveMany(stack.broker, p.id, [{ qty: 1, user_id: "z", entry_ticket: entry.ticket_id }]);
  expect(stolen).toMatchObject({ ok: false, code: "ENTRY_INVALID" });
  const [forged] = await reserveMany(stack.broker, p.id, [{ qty: 1, user_id: entry.user_id, entry_refused: "signature does not verify" }]);
  expect(forged).toMatchObject({ ok: false, code: "ENTRY_INVALID" });
  // more than the entry allows: refused naming per_entry, the entry kept
  const [tooMany] = await reserveMany(stack.broker, p.id, [{ qty: 3, user_id: entry.user_id, entry_ticket: entry.ticket_id }]);
  expect(tooMany).toMatchObject({ ok: false, code: "VALIDATION_ERROR", message: "qty exceeds per_entry (2)" });
  // its order takes 1 of the 2 set aside: the other goes back; a second order with the entry: ENTRY_USED
  const [ordered, twice] = await reserveMany(stack.broker, p.id, [
    { qty: 1, user_id: entry.user_id, entry_ticket: entry.ticket_id },
    { qty: 1, user_id: entry.user_id, entry_ticket: entry.ticket_id },
  ]);
  expect(ordered).toMatchObject({ ok: true, replayed: false, order: { qty: 1 } });
  expect(twice).toMatchObject({ ok: false, code: "ENTRY_USED" });
  expect((await call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: entry.ticket_id })).ticket.status).toBe("used");
  // 3 - 1 ordered = 2 units: the next entry gets them at the next step
  await log(stack.broker).heard<LineChanged>(LINE_CHANGED_EVENT, (e) => e.product_id === p.id && e.changed.length > 0 && !e.changed.includes(entry.ticket_id), { timeoutMs: 20_000 });
  const after = await call<LineView>("line", { product_id: p.id });
  expect([after.admitted, after.waiting]).toEqual([2, 2]);
  // the audit counts the units set aside for the open entry, and finds them owed to it
  const audit = await auditOf(stack, p.id);
  expect(audit.products).toEqual([expect.objectContaining({ id: p.id, consistent: true, available: 0, reserved: 1 })]);
});

test("an open product has no line; an unknown product is not found", async () => {
  const p = await stack.createProduct({ stock: 1 });
  await expect(call("line", { product_id: p.id })).rejects.toMatchObject({ code: 409, type: "QUEUE_NOT_OPEN" });
  await expect(call("lineJoin", { product_id: p.id, user_id: "u" })).rejects.toMatchObject({ code: 409, type: "QUEUE_NOT_OPEN" });
  await expect(call("line", { product_id: 999_999_999 })).rejects.toMatchObject({ code: 404, type: "PRODUCT_NOT_FOUND" });
});
