/**
 * A draw (API.md, "Fair access": `access: "draw"`) of 10,000 entries on a real stack:
 * entries close at the draw (409 QUEUE_CLOSED after it), the whole order is the one
 * README's script recomputes from the published seed, the draw writes nothing per entry
 * (its Redis commands counted), and the waitlist gets the units that come back, in draw
 * order.
 */
import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { useStack, type Stack } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";
import { TEST_REDIS_NODES } from "../support/env.ts";
import type { LineJoined, TicketReading } from "../../src/contracts/line.ts";
import type { LineView } from "../../src/domain/line-view.ts";

jest.setTimeout(180_000);

let stack: Stack;
useStack((s) => (stack = s));

const SCRIPT = fileURLToPath(new URL("../../scripts/line-places.mjs", import.meta.url));
const call = <T>(action: string, params: object) => stack.broker.call<T, object>(`inventory.${action}`, params);
const ENTRIES = 10_000;

/** The write commands the product's scripts run from now until `until` resolves (MONITOR on every master). */
async function writesDuring(productId: number, until: () => Promise<unknown>): Promise<string[]> {
  const tag = `{${stack.config.streamPrefix}:p:${productId}}`;
  const monitors = await Promise.all(TEST_REDIS_NODES.map((n) => new Redis(Number(n.split(":")[1]), "127.0.0.1", { lazyConnect: true }).monitor()));
  const writes: string[] = [];
  for (const m of monitors) {
    m.on("error", () => undefined); // a watcher only: another file's traffic may confuse its parser
    m.on("monitor", (_time: string, args: string[], source: string) => {
      const cmd = String(args[0]).toUpperCase();
      if (source === "lua" && args[1]?.startsWith(tag) && /^(H?SET|HINCRBY|INCRBY|DECRBY|ZADD|ZREM|HDEL|DEL|SADD)$/.test(cmd)) writes.push(`${cmd} ${args[1].slice(tag.length)}`);
    });
  }
  try {
    await until();
  } finally {
    for (const m of monitors) m.disconnect();
  }
  return writes;
}

test("a draw of 10,000 entries: closed at the draw, its order recomputed from the published seed, nothing written per entry", async () => {
  // time to join 10,000 on a loaded 2-core machine (a quiet one needs about 5 s)
  const starts = Date.now() + 25_000;
  // no stock yet: the draw orders everyone, nobody is admitted until units come
  const p = await stack.createProduct({ stock: 0, max_per_order: 1, access: "draw", sale_starts_at: new Date(starts).toISOString() });
  const tickets: string[] = new Array(ENTRIES);
  for (let from = 0; from < ENTRIES; from += 500) {
    const batch = await Promise.all(Array.from({ length: 500 }, (_, i) => call<LineJoined>("lineJoin", { product_id: p.id, user_id: `d-${from + i}` })));
    for (const b of batch) tickets[b.ticket.join_number] = b.ticket.ticket_id;
  }
  expect(Date.now()).toBeLessThan(starts); // every entry before the draw, or the test proves nothing

  const writes = await writesDuring(p.id, () => eventually(async () => (await call<LineView>("line", { product_id: p.id })).early_joiners !== null, 30_000, "the draw"));
  // the draw is one field; the step around it moves a few counters: none of it per entry
  expect(writes.filter((w) => w.includes(":line:tickets") || w.includes(":line:joins"))).toEqual([]);
  expect(writes.length).toBeLessThan(10);

  const line = await call<LineView>("line", { product_id: p.id });
  expect([line.access, line.early_joiners, line.joined]).toEqual(["draw", ENTRIES, ENTRIES]);
  await expect(call("lineJoin", { product_id: p.id, user_id: "too-late" })).rejects.toMatchObject({ code: 409, type: "QUEUE_CLOSED" });

  const recomputed = execFileSync(process.execPath, [SCRIPT, line.seed!, String(ENTRIES)], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 })
    .split("\n").filter((l) => /^\d+ \d+$/.test(l)).map((l) => Number(l.split(" ")[1]));
  expect(recomputed).toHaveLength(ENTRIES);
  const service: number[] = new Array(ENTRIES);
  for (let from = 0; from < ENTRIES; from += 500) {
    const batch = await Promise.all(tickets.slice(from, from + 500).map((t) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: t })));
    for (const r of batch) service[r.ticket.join_number] = r.ticket.position! + r.served;
  }
  expect(service).toEqual(recomputed);

  // units come (a restock of 2): the first two of the draw's order are admitted, nobody else
  const restocked = await stack.http("POST", `/api/admin/products/${p.id}/restock`, { add: 2 }, { authorization: "Bearer test-admin-token" });
  expect(restocked.status).toBe(200);
  const firstTwo = [recomputed.indexOf(1), recomputed.indexOf(2)];
  const admitted = await eventually(async () => {
    const r = await Promise.all(firstTwo.map((j) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: tickets[j] })));
    return r.every((t) => t.ticket.status === "admitted") && r;
  }, 20_000, "the draw's first two admitted");
  expect(admitted.map((t) => t.ticket.join_number)).toEqual(firstTwo);
  // a winner who leaves: the unit goes to the waitlist's first (place 3)
  await call("lineLeave", { product_id: p.id, ticket_id: tickets[firstTwo[0]] });
  const third = recomputed.indexOf(3);
  await eventually(async () => (await call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: tickets[third] })).ticket.status === "admitted", 20_000, "place 3 admitted");
  const fourth = await call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: tickets[recomputed.indexOf(4)] });
  expect([fourth.ticket.status, fourth.ticket.position! + fourth.served]).toEqual(["waiting", 4]);
});
