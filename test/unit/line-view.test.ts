import { LineOrder, ALGORITHM } from "../../src/domain/line-order.ts";
import { lineOrderOf, lineView, parseTicket, placeOf, soldOut, ticketStatus, ticketView, type LineState, type TicketRecord } from "../../src/domain/line-view.ts";

const T0 = 1_800_000_000_000;
const seed = "ab".repeat(32);
const state = (o: Partial<LineState> = {}): LineState => ({
  mode: "queue", opensAt: T0, drawsAt: T0 + 10_000, endsAt: T0 + 100_000, perEntry: 2, entryTtlMs: 60_000, admitPerSecond: null,
  paused: false, seedSha256: "h", seed, joined: 100, early: 80, served: 10, aside: 4, admitted: 2, expired: 0, leftWaiting: 3,
  leftAdmitted: 0, available: 50, reserved: 0, ...o,
});
const ticket = (o: Partial<TicketRecord> = {}): TicketRecord => ({ join: 5, user: "u-1", joinedAt: T0 + 1, code: "w", entryExpiresAt: null, orderId: null, ...o });
const at = T0 + 20_000;

test("a waiting ticket is sold_out only while nothing is available, set aside or held unpaid, and lost once the sale ended", () => {
  expect(ticketStatus(state(), ticket(), at)).toBe("waiting");
  expect(soldOut(state({ available: 0, aside: 0, reserved: 0 }))).toBe(true);
  expect(ticketStatus(state({ available: 0, aside: 0, reserved: 0 }), ticket(), at)).toBe("sold_out");
  expect(ticketStatus(state({ available: 0, aside: 2, reserved: 0 }), ticket(), at)).toBe("waiting"); // an entry may come back
  expect(ticketStatus(state({ available: 0, aside: 0, reserved: 3 }), ticket(), at)).toBe("waiting"); // an unpaid order may come back
  expect(ticketStatus(state(), ticket(), T0 + 100_000)).toBe("lost");
});

test("an admitted ticket is admitted until its entry expires, then expired; lost if the sale ended; final codes read as they are", () => {
  const admitted = ticket({ code: "a", entryExpiresAt: at + 1000 });
  expect(ticketStatus(state(), admitted, at)).toBe("admitted");
  expect(ticketStatus(state(), admitted, at + 1000)).toBe("expired");
  expect(ticketStatus(state({ endsAt: at }), admitted, at)).toBe("lost");
  expect(ticketStatus(state(), ticket({ code: "u" }), at)).toBe("used");
  expect(ticketStatus(state(), ticket({ code: "x" }), at)).toBe("expired");
  expect(ticketStatus(state(), ticket({ code: "l" }), at)).toBe("left");
});

test("places: an early joiner's is the seed's permutation, a late joiner's its arrival behind them, none before the draw", () => {
  const s = state();
  const order = lineOrderOf(s)!;
  expect(placeOf(s, 5, order)).toBe(new LineOrder(Buffer.from(seed, "hex"), 80).place(5));
  expect(placeOf(s, 80, order)).toBe(81);
  expect(placeOf(s, 99, order)).toBe(100);
  expect(placeOf(state({ early: null, seed: null }), 5, null)).toBeNull();
  expect(lineOrderOf(state({ early: null, seed: null }))).toBeNull();
});

test("a waiting ticket's view: position is its place minus the places served, the estimate from the measured pace, none while paused", () => {
  const s = state();
  const order = lineOrderOf(s)!;
  const late = ticket({ join: 90 });
  const v = ticketView(7, "t1", s, late, order, { now: at, admitsPerSecond: 4, entryToken: null });
  expect(v).toEqual({
    ticket_id: "t1", product_id: 7, user_id: "u-1", status: "waiting", join_number: 90, position: 81, eta_seconds: 21,
    joined_at: new Date(T0 + 1).toISOString(), entry_token: null, entry_expires_at: null,
  });
  expect(ticketView(7, "t1", state({ paused: true }), late, order, { now: at, admitsPerSecond: 4, entryToken: null }).eta_seconds).toBeNull();
  expect(ticketView(7, "t1", s, late, order, { now: at, admitsPerSecond: null, entryToken: null }).eta_seconds).toBeNull();
  const soldOutView = ticketView(7, "t1", state({ available: 0, aside: 0 }), late, order, { now: at, admitsPerSecond: 4, entryToken: null });
  expect([soldOutView.status, soldOutView.position, soldOutView.eta_seconds]).toEqual(["sold_out", 81, null]);
});

test("an admitted ticket's view carries its entry token and expiry; no other status does", () => {
  const s = state();
  const admitted = ticket({ code: "a", entryExpiresAt: at + 60_000 });
  const v = ticketView(7, "t1", s, admitted, lineOrderOf(s), { now: at, admitsPerSecond: 4, entryToken: "tok" });
  expect([v.status, v.entry_token, v.entry_expires_at, v.position]).toEqual(["admitted", "tok", new Date(at + 60_000).toISOString(), null]);
  const used = ticketView(7, "t1", s, ticket({ code: "u" }), lineOrderOf(s), { now: at, admitsPerSecond: 4, entryToken: "tok" });
  expect([used.entry_token, used.entry_expires_at]).toEqual([null, null]);
});

test("the line's public view names the algorithm, counts waiting tickets (none once the sale ended) and keeps the seed hidden before the draw", () => {
  const v = lineView(7, state(), at);
  expect(v).toMatchObject({ product_id: 7, access: "queue", algorithm: ALGORITHM, early_joiners: 80, joined: 100, admitted: 2, waiting: 95, seed });
  expect(lineView(7, state(), T0 + 100_000).waiting).toBe(0);
  expect(lineView(7, state({ seed: null, early: null }), at)).toMatchObject({ seed: null, early_joiners: null });
});

test("a ticket record reads back as written by the Lua steps", () => {
  expect(parseTicket("12|u-9|1800000000001|a|1800000060000|")).toEqual({ join: 12, user: "u-9", joinedAt: 1_800_000_000_001, code: "a", entryExpiresAt: 1_800_000_060_000, orderId: null });
  expect(parseTicket("0|u|1|w||")).toMatchObject({ code: "w", entryExpiresAt: null, orderId: null });
});
