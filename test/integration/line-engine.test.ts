/**
 * The inventory's line engine (services/inventory/line-engine.ts) on the real Redis
 * Cluster: a line opened once, joins answered as API.md names them, and admission
 * steps paced by admit_per_second, in the seed's order.
 */
import { deploymentKeys } from "../../src/lib/keys.ts";
import { LineOrder } from "../../src/domain/line-order.ts";
import { LineEngine, newTicketId, type LineSettings } from "../../services/inventory/line-engine.ts";
import { scriptsOnTestCluster } from "../support/lua.ts";

const lua = scriptsOnTestCluster();
const T0 = 1_800_000_000_000;
let nextProduct = 600_000 + Math.floor(Math.random() * 50_000) * 10;

async function product(stock: number, line: Partial<LineSettings> = {}) {
  const id = nextProduct++;
  const k = deploymentKeys("line-engine").product(id);
  const snapshot = {
    epoch: "e1", sold: 0, users: {}, reservations: [],
    meta: { name: "P", currency: "USD", price_cents: 100, stock_total: stock, per_user_limit: 1, max_per_order: 1, starts_at_ms: T0 + 10_000, ends_at_ms: "" },
  };
  await lua.scripts.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [JSON.stringify(snapshot), ""]);
  const engine = new LineEngine(lua.scripts);
  const opened = await engine.open(k, { mode: "queue", opensAt: T0, drawsAt: T0 + 10_000, endsAt: null, perEntry: 1, entryTtlMs: 60_000, admitPerSecond: null, ...line });
  return { id, k, engine, opened };
}

test("a line opens once: a second open (a retry, another node) keeps the first seed, whose hash is public from the start", async () => {
  const { k, engine, opened } = await product(10);
  expect(opened.opened).toBe(true);
  expect(opened.seedSha256).toMatch(/^[0-9a-f]{64}$/);
  const again = await engine.open(k, { mode: "queue", opensAt: T0, drawsAt: T0, endsAt: null, perEntry: 1, entryTtlMs: 1000, admitPerSecond: null });
  expect(again).toEqual({ seedSha256: opened.seedSha256, opened: false });
  expect((await engine.read(k))!.state).toMatchObject({ seedSha256: opened.seedSha256, seed: null, early: null });
});

test("joins are answered as joined, held (the buyer's live ticket), not open or closed; ticket ids are 128-bit URL-safe secrets", async () => {
  const { k, engine } = await product(10, { endsAt: T0 + 60_000 });
  expect(await engine.join(k, "u1", T0 - 1)).toEqual({ outcome: "not_open", opensAt: T0 });
  const first = await engine.join(k, "u1", T0);
  expect(first).toMatchObject({ outcome: "joined", join: 0 });
  expect(await engine.join(k, "u1", T0 + 1)).toEqual({ ...first, outcome: "held" });
  expect(await engine.join(k, "u2", T0 + 60_000)).toEqual({ outcome: "closed" });
  expect(await engine.join(deploymentKeys("line-engine").product(nextProduct++), "u1", T0)).toEqual({ outcome: "no_line" });
  expect(newTicketId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(new Set(Array.from({ length: 1000 }, newTicketId)).size).toBe(1000);
});

test("steps admit in the seed's order, as fast as admit_per_second allows since the last step, and measure the pace", async () => {
  const { id, k, engine } = await product(1000, { admitPerSecond: 10 });
  const tickets: string[] = [];
  for (let i = 0; i < 100; i++) {
    const j = await engine.join(k, `u${i}`, T0 + i);
    if (j.outcome !== "joined") throw new Error(`join ${i}: ${j.outcome}`);
    tickets.push(j.ticketId);
  }
  const first = await engine.step(id, k, T0 + 10_000); // the draw, and the first place
  const second = await engine.step(id, k, T0 + 10_500); // half a second at 10/s: 5 more
  const third = await engine.step(id, k, T0 + 12_500); // two seconds: 20 more
  expect([first!.admitted.length, second!.admitted.length, third!.admitted.length]).toEqual([1, 5, 20]);
  // steps closer together than one place's worth of time admit nothing until the rate has earned a place
  // (a step every 40 ms at 10/s: one place in four or five steps, not one a step)
  let paced = 0;
  for (let t = T0 + 12_540; t <= T0 + 13_500; t += 40) paced += (await engine.step(id, k, t))!.admitted.length;
  expect(paced).toBe(10);
  const { state } = (await engine.read(k))!;
  const order = new LineOrder(Buffer.from(state.seed!, "hex"), state.early!);
  const admitted = [...first!.admitted, ...second!.admitted, ...third!.admitted];
  expect(admitted.map((a) => a.ticketId)).toEqual(admitted.map((a) => tickets[order.joinAt(a.place)]));
  expect(admitted.map((a) => a.place)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
  expect(engine.admitsPerSecond(id)).toBeGreaterThan(0);
});

test("a leaver's ticket reads back as left, once; an admitted leaver's unit is available again", async () => {
  const { id, k, engine } = await product(1);
  const a = await engine.join(k, "a", T0);
  const b = await engine.join(k, "b", T0);
  if (a.outcome !== "joined" || b.outcome !== "joined") throw new Error("joins");
  const [admitted] = (await engine.step(id, k, T0 + 10_000))!.admitted;
  expect((await engine.leave(k, admitted.ticketId))).toMatchObject({ changed: true, ticket: { code: "l" } });
  expect((await engine.leave(k, admitted.ticketId))).toMatchObject({ changed: false, ticket: { code: "l" } });
  expect(await engine.leave(k, "no-such-ticket")).toBeNull();
  const next = (await engine.step(id, k, T0 + 10_001))!;
  expect(next.admitted.map((x) => x.ticketId)).toEqual([admitted.ticketId === a.ticketId ? b.ticketId : a.ticketId]);
});
