/**
 * Many scripts in flight at once, right after the scripts were flushed from Redis
 * (a restart or failover does that): every caller must get the reply to its own
 * call. A client that mixed replies up would tell a buyer "reserved" on another
 * buyer's behalf.
 */
import { Cluster } from "ioredis";
import { createRedis, loadScripts, type ScriptResult } from "../../src/lib/redis.ts";
import { deploymentKeys, reserveBatchKeys } from "../../src/lib/keys.ts";
import { TEST_REDIS_NODES } from "../support/env.ts";
import { ScriptCode } from "../../services/inventory/script-codes.ts";

/** the keys of a deployment of this file's own */
const productKeys = (id: number) => deploymentKeys("lua-alignment").product(id);

let redis: Cluster;
afterAll(async () => {
  await redis.quit();
});

test("concurrent first calls after SCRIPT FLUSH each get their own reply", async () => {
  redis = createRedis({ redisNodes: TEST_REDIS_NODES, redisUrl: undefined }) as Cluster;
  const s = loadScripts(redis);
  const base = 800_000 + Math.floor(Math.random() * 50_000) * 20;
  const products = Array.from({ length: 20 }, (_, i) => base + i);
  // product i has i units
  await Promise.all(products.map((id, i) => {
    const k = productKeys(id);
    const snap = { epoch: "e", meta: { name: "P", currency: "USD", price_cents: 1, stock_total: i, per_user_limit: "", max_per_order: 100, starts_at_ms: "", ends_at_ms: "" }, sold: 0, users: {}, reservations: [] };
    return s.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [JSON.stringify(snap), "force"]);
  }));
  const calls = products.flatMap((id, i) => Array.from({ length: 25 }, (_, j) => ({ id, units: i, order: `o-${id}-${j}` })));
  for (let round = 0; round < 5; round++) {
    await Promise.all(redis.nodes("master").map((n) => n.script("FLUSH")));
    const replies = await Promise.all(calls.map((c) => {
      const k = productKeys(c.id);
      return round % 2 === 0
        ? s.snapshot([k.meta, k.stock], [])
        : s.reserveBatch(reserveBatchKeys(k), [k.idem(""), Date.now(), 1000, 60, `${c.order}-${round}`, 0, "", "", "", "", ""]);
    }));
    replies.forEach((reply, n) => {
      // reserveBatch answers one reply per request: a batch of one here
      const r = round % 2 === 0 ? reply : (reply[0] as unknown as ScriptResult);
      if (round % 2 === 0) {
        const meta: Record<string, string> = {};
        for (let i = 1; i < r.length; i += 2) meta[String(r[i])] = String(r[i + 1]);
        expect(Number(meta.stock_total)).toBe(calls[n].units);
      } else {
        // qty 0 never changes stock: the empty product answers SOLD_OUT (with its rules: max
        // 100 a order, no per-user limit, no end), every other one "reserved" with all its units left
        const { units, order } = calls[n];
        const [answer, expected] = units === 0
          ? [r, [ScriptCode.reserve.SOLD_OUT, 100, "", ""]]
          : [[r[0], r[1], r[6]], [ScriptCode.reserve.RESERVED, `${order}-${round}`, units]];
        expect(answer).toEqual(expected);
      }
    });
  }
});
