/**
 * The line's scripts (lineOpen, lineJoin, lineLeave, lineAdmit, lineRead) on their own,
 * against the real Redis Cluster: the draw, admission as units allow (rule 2), leavers
 * passed, unused entries expiring back to the line, pause and the sale's end.
 */
import { createHash } from "node:crypto";
import { deploymentKeys, type ProductKeys } from "../../src/lib/keys.ts";
import { LineOrder } from "../../src/domain/line-order.ts";
import { parseLineReading } from "../../src/domain/line-view.ts";
import { joinsOfNextPlaces } from "../../services/inventory/line-engine.ts";
import { ScriptCode } from "../../services/inventory/script-codes.ts";
import { scriptsOnTestCluster } from "../support/lua.ts";

const keysOf = (id: number) => deploymentKeys("lua-line").product(id);
const T0 = 1_800_000_000_000;
const TTL = 60_000;
const lua = scriptsOnTestCluster();
let nextProduct = 700_000 + Math.floor(Math.random() * 50_000) * 10;

interface Line {
  id: number;
  k: ProductKeys;
  seed: Buffer;
}

/** A product of `stock` units with a line: opens at T0, draws at T0 + 10 s. */
async function lineProduct(o: { stock: number; perEntry?: number; mode?: "queue" | "draw"; ends?: number }): Promise<Line> {
  const id = nextProduct++;
  const k = keysOf(id);
  const snapshot = {
    epoch: "e1", sold: 0, users: {}, reservations: [],
    meta: { name: "P", currency: "USD", price_cents: 100, stock_total: o.stock, per_user_limit: "", max_per_order: o.perEntry ?? 2, starts_at_ms: T0 + 10_000, ends_at_ms: o.ends ?? "" },
  };
  await lua.scripts.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [JSON.stringify(snapshot), ""]);
  const seed = createHash("sha256").update(`line-${id}`).digest();
  const opened = await lua.scripts.lineOpen([k.line], [o.mode ?? "queue", T0, T0 + 10_000, o.ends ?? "", o.perEntry ?? 2, TTL, 0, seed.toString("hex"), createHash("sha256").update(seed).digest("hex")]);
  expect(opened[0]).toBe(ScriptCode.lineOpen.OPENED);
  return { id, k, seed };
}

const join = (l: Line, user: string, now: number, ticket = `t-${user}`) => lua.scripts.lineJoin([l.k.line, l.k.lineTickets, l.k.lineJoins, l.k.lineUsers], [ticket, user, now]);
const leave = (l: Line, ticket: string) => lua.scripts.lineLeave([l.k.line, l.k.lineTickets, l.k.lineUsers, l.k.lineEntries, l.k.stock], [ticket]);
const admitRaw = (l: Line, now: number, first: number, joins: number[]) =>
  lua.scripts.lineAdmit([l.k.line, l.k.lineTickets, l.k.lineJoins, l.k.lineEntries, l.k.stock, l.k.meta], [now, first, ...joins]);
const read = async (l: Line, ticket = "") => lua.scripts.lineRead([l.k.line, l.k.lineTickets, l.k.stock, l.k.meta], [ticket]);

/** What the owning node does (LineEngine.step) with an explicit budget: the next places' join numbers, the step, again after a draw. */
async function admit(l: Line, now: number, budget: number) {
  for (;;) {
    const { state } = parseLineReading(await read(l));
    const reply = await admitRaw(l, now, state.served + 1, joinsOfNextPlaces(state, budget));
    if (reply[0] !== ScriptCode.lineAdmit.STALE) {
      const admitted: Array<{ ticket: string; place: number; expiresAt: number }> = [];
      for (let i = 7; i < reply.length; i += 3) admitted.push({ ticket: String(reply[i]), place: Number(reply[i + 1]), expiresAt: Number(reply[i + 2]) });
      return { served: Number(reply[1]), available: Number(reply[2]), aside: Number(reply[3]), expired: Number(reply[5]), admitted };
    }
  }
}

test("lineOpen opens a line once: a second open keeps the first seed's hash", async () => {
  const l = await lineProduct({ stock: 10 });
  const again = await lua.scripts.lineOpen([l.k.line], ["queue", T0, T0 + 1, "", 2, TTL, 0, "00".repeat(32), "other-hash"]);
  expect(again).toEqual([ScriptCode.lineOpen.ALREADY_OPEN, createHash("sha256").update(l.seed).digest("hex")]);
});

test("joining: not before the line opens, one live ticket per buyer, join numbers in arrival order, a draw closed at its draw, every line closed at the sale's end", async () => {
  const q = await lineProduct({ stock: 10, ends: T0 + 60_000 });
  expect(await join(q, "early-bird", T0 - 1)).toEqual([ScriptCode.lineJoin.NOT_OPEN, T0]);
  expect(await join(q, "a", T0)).toEqual([ScriptCode.lineJoin.JOINED, "t-a", 0]);
  expect(await join(q, "b", T0 + 1)).toEqual([ScriptCode.lineJoin.JOINED, "t-b", 1]);
  expect(await join(q, "a", T0 + 2, "t-a2")).toEqual([ScriptCode.lineJoin.HELD, "t-a", 0]);
  expect(await join(q, "late", T0 + 20_000)).toEqual([ScriptCode.lineJoin.JOINED, "t-late", 2]); // a queue takes late joiners
  expect(await join(q, "too-late", T0 + 60_000)).toEqual([ScriptCode.lineJoin.CLOSED]);
  const d = await lineProduct({ stock: 10, mode: "draw" });
  expect((await join(d, "a", T0))[0]).toBe(ScriptCode.lineJoin.JOINED);
  expect(await join(d, "b", T0 + 10_000)).toEqual([ScriptCode.lineJoin.CLOSED]);
  expect(await join({ ...q, k: keysOf(nextProduct++) }, "x", T0)).toEqual([ScriptCode.lineJoin.NO_LINE]);
});

test("the draw fixes the early joiners at the start; the seed is secret until then; late joiners come after them", async () => {
  const l = await lineProduct({ stock: 200 });
  for (let i = 0; i < 50; i++) await join(l, `u${i}`, T0 + i);
  const before = parseLineReading(await read(l)).state;
  expect([before.seed, before.early]).toEqual([null, null]); // seed hidden, not drawn
  expect((await admit(l, T0 + 9_999, 10)).admitted).toEqual([]); // nothing before the start
  await join(l, "late-1", T0 + 10_000); // the first join at the start draws: 50 early joiners
  const after = parseLineReading(await read(l)).state;
  expect([after.seed, after.early, after.joined]).toEqual([l.seed.toString("hex"), 50, 51]);
  const step = await admit(l, T0 + 10_001, 51);
  const order = new LineOrder(l.seed, 50);
  // every early joiner at the place the seed gives, then the late joiner
  expect(step.admitted.map((a) => a.ticket)).toEqual([...Array.from({ length: 50 }, (_, i) => `t-u${order.joinAt(i + 1)}`), "t-late-1"]);
  expect(step.admitted.map((a) => a.place)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
  // and not in join order
  expect(step.admitted.slice(0, 50).map((a) => a.ticket)).not.toEqual(Array.from({ length: 50 }, (_, i) => `t-u${i}`));
});

test("admission sets per_entry units aside for each entry and stops when they are not there (rule 2); a leaver's place is passed", async () => {
  const l = await lineProduct({ stock: 5, perEntry: 2 });
  for (const u of ["a", "b", "c", "d"]) await join(l, u, T0);
  const order = new LineOrder(l.seed, 4);
  const second = `t-${"abcd"[order.joinAt(2)]}`;
  expect((await leave(l, second))[0]).toBe(ScriptCode.lineLeave.LEFT);
  const step = await admit(l, T0 + 10_000, 10);
  // places 1 and 3 admitted (2 left): 4 units aside, 1 available, which no entry can take
  expect(step.admitted.map((a) => a.place)).toEqual([1, 3]);
  expect([step.available, step.aside, step.served]).toEqual([1, 4, 3]);
  expect(step.admitted.every((a) => a.expiresAt === T0 + 10_000 + TTL)).toBe(true);
  expect(Number(await lua.redis.get(l.k.stock))).toBe(1);
});

test("an admitted buyer who leaves gives the units back at once, and the next place is admitted with them", async () => {
  const l = await lineProduct({ stock: 2, perEntry: 2 });
  for (const u of ["a", "b"]) await join(l, u, T0);
  const first = (await admit(l, T0 + 10_000, 2)).admitted;
  expect(first).toHaveLength(1);
  expect((await leave(l, first[0].ticket))[0]).toBe(ScriptCode.lineLeave.LEFT);
  expect(Number(await lua.redis.get(l.k.stock))).toBe(2);
  const next = await admit(l, T0 + 10_001, 2);
  expect(next.admitted.map((a) => a.place)).toEqual([2]);
  expect((await leave(l, first[0].ticket))[0]).toBe(ScriptCode.lineLeave.FINAL);
  expect(await leave(l, "t-nobody")).toEqual([ScriptCode.lineLeave.NO_TICKET]);
});

test("an entry left unused past its expiry turns expired and its units go to the next in line, in the same step", async () => {
  const l = await lineProduct({ stock: 2, perEntry: 2 });
  for (const u of ["a", "b", "c"]) await join(l, u, T0);
  const [first] = (await admit(l, T0 + 10_000, 3)).admitted;
  expect((await admit(l, T0 + 10_000 + TTL - 1, 3)).admitted).toEqual([]); // still good
  const step = await admit(l, T0 + 10_000 + TTL, 3);
  expect(step.expired).toBe(1);
  expect(step.admitted.map((a) => a.place)).toEqual([2]);
  expect(parseLineReading(await read(l, first.ticket)).ticket).toMatchObject({ code: "x", join: expect.any(Number) });
});

test("a stale first place is refused with the line's place; a paused line admits nobody but still expires entries; nobody is admitted at or after the sale's end, and no entry outlives it", async () => {
  const l = await lineProduct({ stock: 10, perEntry: 1, ends: T0 + 10_000 + TTL / 2 });
  for (const u of ["a", "b", "c", "d"]) await join(l, u, T0);
  await admit(l, T0 + 10_000, 1);
  expect((await admitRaw(l, T0 + 10_001, 5, [0]))[0]).toBe(ScriptCode.lineAdmit.STALE);
  const one = (await admit(l, T0 + 10_001, 1)).admitted[0];
  expect(one.expiresAt).toBe(T0 + 10_000 + TTL / 2); // capped at the end
  await lua.redis.hset(l.k.line, "paused", 1);
  expect((await admit(l, T0 + 10_002, 4)).admitted).toEqual([]);
  await lua.redis.hset(l.k.line, "paused", 0);
  expect((await admit(l, T0 + 10_000 + TTL / 2, 4)).admitted).toEqual([]);
});
