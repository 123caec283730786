/**
 * Rule 1 of API.md's "Fair access", checked from outside: the place of everyone who
 * joined before the start is recomputed with README's script (scripts/line-places.mjs)
 * from what the line publishes, and is the service's; the seed's hash was published
 * before the first join; the drawn order is not the join order; later joiners queue
 * behind in arrival order.
 */
import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { useStack, type Stack } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";
import type { LineJoined, TicketReading } from "../../src/contracts/line.ts";
import type { LineView } from "../../src/domain/line-view.ts";

jest.setTimeout(90_000);

let stack: Stack;
useStack((s) => (stack = s));

const SCRIPT = fileURLToPath(new URL("../../scripts/line-places.mjs", import.meta.url));
const EARLY = 300;
const call = <T>(action: string, params: object) => stack.broker.call<T, object>(`inventory.${action}`, params);

/** Spearman's rank correlation of two permutations of 1..n given as pairs. */
function spearman(pairs: Array<[number, number]>): number {
  const n = pairs.length;
  const d2 = pairs.reduce((s, [a, b]) => s + (a - b) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

test("every early joiner's place is the one README's script recomputes from the published seed; later joiners queue behind", async () => {
  // no stock: nobody is admitted, so every place stays a position (place = position + 0 served)
  const p = await stack.createProduct({ stock: 0, access: "queue", sale_starts_at: new Date(Date.now() + 4000).toISOString() });
  const before = await call<LineView>("line", { product_id: p.id });
  expect([before.joined, before.seed]).toEqual([0, null]);

  const tickets: string[] = [];
  for (let i = 0; i < EARLY; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, EARLY - i) }, (_, j) =>
      call<LineJoined>("lineJoin", { product_id: p.id, user_id: `fair-${i + j}` })));
    tickets.push(...batch.map((b) => b.ticket.ticket_id));
  }
  const drawn = await eventually(async () => {
    const line = await call<LineView>("line", { product_id: p.id });
    return line.early_joiners !== null && line;
  }, 30_000, "the draw at sale_starts_at");
  // if the clock raced the joins, some joined after the start: the test needs them all early
  expect(drawn.early_joiners).toBe(EARLY);
  expect(drawn.seed_sha256).toBe(before.seed_sha256);
  expect(createHash("sha256").update(Buffer.from(drawn.seed!, "hex")).digest("hex")).toBe(before.seed_sha256);

  const readings = await Promise.all(tickets.map((t) => call<TicketReading>("lineTicket", { product_id: p.id, ticket_id: t })));
  const service = new Map(readings.map((r) => [r.ticket.join_number, r.ticket.position! + r.served]));
  const recomputed = new Map(execFileSync(process.execPath, [SCRIPT, drawn.seed!, String(EARLY)], { encoding: "utf8" })
    .split("\n").filter((l) => /^\d+ \d+$/.test(l)).map((l) => l.split(" ").map(Number) as [number, number]));
  expect(recomputed.size).toBe(EARLY);
  expect(service).toEqual(recomputed);
  expect(new Set(service.values()).size).toBe(EARLY); // a permutation: every place once

  // not the join order: |Spearman| > 0.3 has probability about 1e-7 for 300 random places
  expect(Math.abs(spearman([...service].map(([join, place]) => [join + 1, place])))).toBeLessThan(0.3);

  const late = [];
  for (const user of ["late-1", "late-2", "late-3"]) late.push(await call<LineJoined>("lineJoin", { product_id: p.id, user_id: user }));
  expect(late.map((l) => [l.ticket.join_number, l.ticket.position])).toEqual([[EARLY, EARLY + 1], [EARLY + 1, EARLY + 2], [EARLY + 2, EARLY + 3]]);
});
