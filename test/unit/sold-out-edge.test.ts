/**
 * The sold-out hint's rules on its own, with an injected clock (no Redis: keyed
 * requests are left to the inventory; the multi-gateway test covers replays). Requests
 * reach it validated: the order route checks the body first.
 */
import { SoldOutEdge } from "../../services/gateway/sold-out-edge.ts";

const rules = { max_per_order: 2, per_user_limit: null, ends_at_ms: null };
const req = { product_id: 7, qty: 1, user_id: "u" };

function edge(lapseMs = 1000) {
  let now = 1_000;
  const e = new SoldOutEdge(lapseMs, () => now);
  return { e, tick: (ms: number) => (now += ms), now: () => now };
}

test("answers SOLD_OUT while the flag is fresh, then lapses by itself", () => {
  const { e, tick } = edge();
  expect(e.answer(req, null)).toBeNull();
  e.soldOut(7, rules);
  expect(e.answer(req, null)).toMatchObject({ ok: false, code: "SOLD_OUT" });
  tick(999);
  expect(e.isSoldOut(7)).toBe(true);
  tick(1);
  expect(e.answer(req, null)).toBeNull();
});

test("units back lift the flag at once, and a sell-out seen by a request sent before that is ignored", () => {
  const { e, tick, now } = edge();
  const sentAt = now();
  e.soldOut(7, rules, sentAt);
  tick(10);
  e.returned(7);
  expect(e.answer(req, null)).toBeNull();
  e.soldOut(7, rules, sentAt); // the reply of that old request arrives after the event
  expect(e.isSoldOut(7)).toBe(false);
  tick(1);
  e.soldOut(7, rules);
  expect(e.isSoldOut(7)).toBe(true);
});

test("leaves to the inventory what the rule refuses before SOLD_OUT, and keyed requests without Redis", () => {
  const { e } = edge();
  e.soldOut(7, { max_per_order: 2, per_user_limit: 1, ends_at_ms: 5_000 });
  expect(e.answer({ ...req, qty: 3 }, null)).toBeNull();
  expect(e.answer({ product_id: 7, qty: 1 }, null)).toBeNull();
  expect(e.answer(req, "key")).toBeNull();
  expect(e.answer(req, null)).toMatchObject({ code: "SOLD_OUT" });
  const late = edge();
  late.e.soldOut(7, { ...rules, ends_at_ms: 1_500 });
  late.tick(500);
  expect(late.e.answer(req, null)).toBeNull();
});

test("a lapse of 0 turns the hint off", () => {
  const { e } = edge(0);
  e.soldOut(7, rules);
  expect(e.answer(req, null)).toBeNull();
});
