/**
 * Each inventory script on its own, against the real Redis Cluster, every branch.
 * Every test works on a product id of its own, so nothing is flushed between tests.
 */
import { monitorRedis } from "../support/redis-monitor.ts";
import { Cluster } from "ioredis";
import { loadScripts, type Scripts, type ScriptResult } from "../../src/lib/redis.ts";
import { deploymentKeys, reserveBatchKeys } from "../../src/lib/keys.ts";
import { TEST_REDIS_NODES } from "../support/env.ts";

/** the keys of a deployment of this file's own */
const productKeys = (id: number) => deploymentKeys("lua-scripts").product(id);

let redis: Cluster;
let s: Scripts;
let nextProduct = 900_000 + Math.floor(Math.random() * 50_000) * 10;
const NOW = 1_800_000_000_000;
const TTL = 600_000;

beforeAll(() => {
  redis = new Cluster(TEST_REDIS_NODES.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
  s = loadScripts(redis);
});
afterAll(async () => {
  await redis.quit();
});

interface Meta {
  stock_total?: number;
  price_cents?: number;
  per_user_limit?: number | "";
  max_per_order?: number;
  starts_at_ms?: number | "";
  ends_at_ms?: number | "";
}

async function product(meta: Meta = {}, extra: { sold?: number; users?: Record<string, number>; reservations?: unknown[] } = {}) {
  const id = nextProduct++;
  const k = productKeys(id);
  const snapshot = {
    epoch: "e1",
    meta: {
      name: "P", currency: "USD", price_cents: 250, stock_total: 10, per_user_limit: "", max_per_order: 5,
      starts_at_ms: "", ends_at_ms: "", ...meta,
    },
    sold: extra.sold ?? 0,
    users: extra.users ?? {},
    reservations: extra.reservations ?? [],
  };
  const r = await s.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [JSON.stringify(snapshot), ""]);
  return { id, k, loaded: r };
}

/** One request alone: a batch of one, its reply. */
async function reserve(k: ReturnType<typeof productKeys>, o: { order: string; qty: number; user?: string; now?: number; key?: string; hash?: string }) {
  const [reply] = (await s.reserveBatch(
    reserveBatchKeys(k),
    [k.idem(""), o.now ?? NOW, TTL, 86400, o.order, o.qty, o.user ?? "", o.hash ?? "", o.key ?? "", "", ""],
  )) as unknown as ScriptResult[];
  return reply;
}

const release = (k: ReturnType<typeof productKeys>, order: string, forget = false, key?: string) =>
  s.release([k.meta, k.stock, k.res, k.exp, k.users, key ? k.idem(key) : k.noIdem], [order, forget ? "1" : "0"]);

async function counters(k: ReturnType<typeof productKeys>) {
  const [meta, stock, res, exp, users] = await Promise.all([
    redis.hgetall(k.meta), redis.get(k.stock), redis.hlen(k.res), redis.zcard(k.exp), redis.hgetall(k.users),
  ]);
  return { available: Number(stock), reserved: Number(meta.reserved), sold: Number(meta.sold), res, exp, users };
}

describe("load", () => {
  test("fills an absent shard: available = total - sold - reserved, reservations indexed by expiry", async () => {
    const { k, loaded } = await product({ stock_total: 20 }, {
      sold: 3, users: { a: 5 },
      reservations: [{ o: "o1", q: 2, u: "a", a: 500, e: NOW + 5, c: NOW, k: "", h: "" }],
    });
    expect(loaded).toEqual([1, 15]);
    expect(await counters(k)).toEqual({ available: 15, reserved: 2, sold: 3, res: 1, exp: 1, users: { a: "5" } });
  });

  test("leaves a present shard alone unless forced", async () => {
    const { k } = await product({ stock_total: 20 });
    const snap = JSON.stringify({ epoch: "e2", meta: { name: "P", currency: "USD", price_cents: 1, stock_total: 7, per_user_limit: "", max_per_order: 5, starts_at_ms: "", ends_at_ms: "" }, sold: 0, users: {}, reservations: [] });
    expect(await s.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [snap, ""])).toEqual([0]);
    expect(await redis.get(k.stock)).toBe("20");
    expect(await s.load([k.meta, k.stock, k.res, k.exp, k.users, k.line], [snap, "force"])).toEqual([1, 7]);
    expect(await redis.hget(k.meta, "epoch")).toBe("e2");
  });
});

describe("reserve", () => {
  test("reserves: decrements stock, records the reservation, its expiry and the user's units", async () => {
    const { k } = await product();
    expect(await reserve(k, { order: "o1", qty: 3, user: "u1" })).toEqual([0, "o1", 3, 750, NOW + TTL, NOW, 7]);
    const c = await counters(k);
    expect(c).toEqual({ available: 7, reserved: 3, sold: 0, res: 1, exp: 1, users: { u1: "3" } });
    expect(await redis.zscore(k.exp, "o1")).toBe(String(NOW + TTL));
  });

  test("answers NOT_LOADED for an absent shard and writes nothing", async () => {
    const k = productKeys(nextProduct++);
    expect(await reserve(k, { order: "o1", qty: 1 })).toEqual([3]);
    expect(await redis.exists(k.meta, k.stock, k.res, k.exp, k.users)).toBe(0);
  });

  test("answers NOT_LOADED when the stock key alone was lost", async () => {
    const { k } = await product();
    await redis.del(k.stock);
    expect(await reserve(k, { order: "o1", qty: 1 })).toEqual([3]);
  });

  test("refuses before the sale starts and from its end on", async () => {
    const { k } = await product({ starts_at_ms: NOW + 1000, ends_at_ms: NOW + 2000 });
    expect(await reserve(k, { order: "o1", qty: 1, now: NOW })).toEqual([4, "before"]);
    expect(await reserve(k, { order: "o2", qty: 1, now: NOW + 2000 })).toEqual([4, "after"]);
    expect(await reserve(k, { order: "o4", qty: 1, now: NOW + 999 })).toEqual([4, "before"]);
    // on sale from the exact millisecond of sale_starts_at to the one before sale_ends_at
    expect((await reserve(k, { order: "o3", qty: 1, now: NOW + 1000 }))[0]).toBe(0);
    expect((await reserve(k, { order: "o5", qty: 1, now: NOW + 1999 }))[0]).toBe(0);
    expect((await counters(k)).available).toBe(8);
  });

  test("refuses a qty over max_per_order", async () => {
    const { k } = await product({ max_per_order: 2 });
    expect(await reserve(k, { order: "o1", qty: 3 })).toEqual([5, 2]);
    expect((await counters(k)).available).toBe(10);
  });

  test("requires a user for a product with a per-user limit", async () => {
    const { k } = await product({ per_user_limit: 2 });
    expect(await reserve(k, { order: "o1", qty: 1 })).toEqual([6]);
  });

  test("enforces the per-user limit across orders, counting only that user", async () => {
    const { k } = await product({ per_user_limit: 3 });
    expect((await reserve(k, { order: "o1", qty: 2, user: "u" }))[0]).toBe(0);
    expect(await reserve(k, { order: "o2", qty: 2, user: "u" })).toEqual([7, 2, 3]);
    expect((await reserve(k, { order: "o3", qty: 1, user: "u" }))[0]).toBe(0);
    expect((await reserve(k, { order: "o4", qty: 3, user: "v" }))[0]).toBe(0);
    expect((await counters(k)).users).toEqual({ u: "3", v: "3" });
  });

  test("answers SOLD_OUT at zero and INSUFFICIENT_STOCK when fewer units than qty are left", async () => {
    const { k } = await product({ stock_total: 3 });
    expect((await reserve(k, { order: "o1", qty: 2 }))[0]).toBe(0);
    expect(await reserve(k, { order: "o2", qty: 2 })).toEqual([9, 1]);
    expect((await reserve(k, { order: "o3", qty: 1 }))[0]).toBe(0);
    expect(await reserve(k, { order: "o4", qty: 1 })).toEqual([8, 5, "", ""]);
    expect((await counters(k)).available).toBe(0);
  });

  test("replays the same order id without reserving again", async () => {
    const { k } = await product();
    await reserve(k, { order: "o1", qty: 2, user: "u" });
    expect(await reserve(k, { order: "o1", qty: 2, user: "u", now: NOW + 5 })).toEqual([1, "o1", 2, 500, NOW + TTL, NOW, "u"]);
    expect((await counters(k)).available).toBe(8);
  });

  test("replays an idempotency key with the same request hash, refuses it with another", async () => {
    const { k } = await product();
    expect((await reserve(k, { order: "o1", qty: 1, key: "K", hash: "h1" }))[0]).toBe(0);
    expect(await reserve(k, { order: "o2", qty: 1, key: "K", hash: "h1" })).toEqual([1, "o1", 1, 250, NOW + TTL, NOW, ""]);
    expect(await reserve(k, { order: "o3", qty: 2, key: "K", hash: "h2" })).toEqual([2]);
    expect((await counters(k)).available).toBe(9);
    expect(await redis.ttl(k.idem("K"))).toBeGreaterThan(86000);
  });

  test("stores no idempotency record for a rejected request", async () => {
    const { k } = await product({ stock_total: 0, per_user_limit: 4, ends_at_ms: NOW + 9 });
    expect(await reserve(k, { order: "o1", qty: 1, key: "K", hash: "h", user: "u" })).toEqual([8, 5, "4", String(NOW + 9)]);
    expect(await redis.exists(k.idem("K"))).toBe(0);
  });
});


describe("reserveBatch", () => {
  type Req = { order: string; qty: number; user?: string; key?: string; hash?: string };
  const batch = (k: ReturnType<typeof productKeys>, reqs: Req[], now = NOW) =>
    s.reserveBatch(
      reserveBatchKeys(k),
      [k.idem(""), now, TTL, 86400, ...reqs.flatMap((r) => [r.order, r.qty, r.user ?? "", r.hash ?? "", r.key ?? "", "", ""])],
    ) as unknown as Promise<unknown[]>;

  test("answers each request of a batch in order, each seeing the writes of those before it", async () => {
    const { k } = await product({ stock_total: 4 });
    expect(await batch(k, [
      { order: "o1", qty: 2, user: "a" },
      { order: "o2", qty: 3, user: "b" },
      { order: "o3", qty: 2, user: "c" },
      { order: "o4", qty: 1, user: "d" },
    ])).toEqual([
      [0, "o1", 2, 500, NOW + TTL, NOW, 2],
      [9, 2],
      [0, "o3", 2, 500, NOW + TTL, NOW, 0],
      [8, 5, "", ""],
    ]);
    expect(await counters(k)).toEqual({ available: 0, reserved: 4, sold: 0, res: 2, exp: 2, users: { a: "2", c: "2" } });
  });

  test("two requests of one user that together pass the limit: the first wins, the second is LIMIT_EXCEEDED", async () => {
    const { k } = await product({ per_user_limit: 3 });
    expect(await batch(k, [
      { order: "o1", qty: 2, user: "u" },
      { order: "o2", qty: 2, user: "u" },
      { order: "o3", qty: 1, user: "u" },
    ])).toEqual([[0, "o1", 2, 500, NOW + TTL, NOW, 8], [7, 2, 3], [0, "o3", 1, 250, NOW + TTL, NOW, 7]]);
    expect((await counters(k)).users).toEqual({ u: "3" });
  });

  test("two requests with one Idempotency-Key in one batch: one reservation, then its replay or KEY_REUSED", async () => {
    const { k } = await product();
    expect(await batch(k, [
      { order: "o1", qty: 1, key: "K", hash: "h1" },
      { order: "o2", qty: 1, key: "K", hash: "h1" },
      { order: "o3", qty: 2, key: "K", hash: "h2" },
      { order: "o1", qty: 1 },
    ])).toEqual([[0, "o1", 1, 250, NOW + TTL, NOW, 9], [1, "o1", 1, 250, NOW + TTL, NOW, ""], [2], [1, "o1", 1, 250, NOW + TTL, NOW, ""]]);
    expect((await counters(k)).available).toBe(9);
    expect(JSON.parse((await redis.get(k.idem("K")))!)).toMatchObject({ o: "o1", h: "h1", k: "K" });
    expect(await redis.ttl(k.idem("K"))).toBeGreaterThan(86000);
  });

  test("refuses within a batch exactly as alone: qty over max, missing user, outside the sale window", async () => {
    const limited = await product({ per_user_limit: 2, max_per_order: 2 });
    expect(await batch(limited.k, [{ order: "o1", qty: 3, user: "u" }, { order: "o2", qty: 1 }, { order: "o3", qty: 1, user: "u" }]))
      .toEqual([[5, 2], [6], [0, "o3", 1, 250, NOW + TTL, NOW, 9]]);
    const windowed = await product({ starts_at_ms: NOW + 1000, ends_at_ms: NOW + 2000 });
    expect(await batch(windowed.k, [{ order: "o1", qty: 1, key: "K", hash: "h" }], NOW)).toEqual([[4, "before"]]);
    expect(await batch(windowed.k, [{ order: "o2", qty: 1 }], NOW + 2000)).toEqual([[4, "after"]]);
    expect(await redis.exists(windowed.k.idem("K"))).toBe(0);
    expect((await counters(windowed.k)).available).toBe(10);
  });

  test("an empty batch answers nothing and touches nothing", async () => {
    const { k } = await product();
    expect(await batch(k, [])).toEqual([]);
    expect(await counters(k)).toMatchObject({ available: 10, reserved: 0, res: 0, exp: 0 });
  });

  test("answers NOT_LOADED for every request on an absent shard and writes nothing", async () => {
    const k = productKeys(nextProduct++);
    expect(await batch(k, [{ order: "o1", qty: 1 }, { order: "o2", qty: 1, key: "K", hash: "h" }])).toEqual([[3], [3]]);
    expect(await redis.exists(k.meta, k.stock, k.res, k.exp, k.users, k.idem("K"))).toBe(0);
  });

  test("a batch answers like the same requests sent one by one (same shard state after)", async () => {
    const reqs: Req[] = Array.from({ length: 40 }, (_, i) => ({
      order: `o${i}`, qty: 1 + (i % 3), user: `u${i % 7}`, ...(i % 5 === 0 ? { key: `K${i % 10}`, hash: `h${i % 4}` } : {}),
    }));
    const meta = { stock_total: 30, per_user_limit: 6, max_per_order: 2 };
    const a = await product(meta);
    const b = await product(meta);
    const alone = [];
    for (const r of reqs) alone.push(await reserve(b.k, r));
    expect(await batch(a.k, reqs)).toEqual(alone);
    expect(await counters(a.k)).toEqual(await counters(b.k));
  });

  /**
   * The commands the script itself ran on a product's keys during `run`, as Redis' MONITOR
   * reports them (source "lua"), read on every master; a marker read through the product's
   * slot ends the recording (MONITOR reports a node's commands in the order it ran them).
   */
  async function scriptCommands(k: ReturnType<typeof productKeys>, run: () => Promise<unknown>): Promise<string[]> {
    const tag = k.meta.slice(0, k.meta.indexOf("}") + 1);
    const marker = `${tag}:marker`;
    const seen: string[] = [];
    let markerSeen!: () => void;
    const done = new Promise<void>((resolve) => (markerSeen = resolve));
    const monitor = await monitorRedis(TEST_REDIS_NODES.map((n) => Number(n.split(":")[1])), ({ args, source }) => {
      if (args[1] === marker) markerSeen();
      else if (source === "lua" && args.slice(1).some((a) => a.startsWith(tag))) seen.push(String(args[0]).toUpperCase());
    });
    try {
      await run();
      await redis.get(marker);
      await done;
    } finally {
      monitor.stop();
    }
    return seen;
  }

  test("reads and writes each key once per call: a batch of 40 winners runs the commands of a batch of one", async () => {
    const one = await product({ stock_total: 100, per_user_limit: 2 });
    const forty = await product({ stock_total: 100, per_user_limit: 2 });
    const winners = (n: number) => Array.from({ length: n }, (_, i) => ({ order: `o${i}`, qty: 1, user: `u${i}` }));
    const alone = await scriptCommands(one.k, () => batch(one.k, winners(1)));
    const together = await scriptCommands(forty.k, () => batch(forty.k, winners(40)));
    expect(alone.sort()).toEqual(["DECRBY", "GET", "HINCRBY", "HMGET", "HMGET", "HMGET", "HSET", "HSET", "ZADD"]);
    expect(together.sort()).toEqual(alone);
    expect(await counters(forty.k)).toMatchObject({ available: 60, reserved: 40, res: 40, exp: 40 });
  });
});

describe("release", () => {
  test("gives units back once: a second release changes nothing", async () => {
    const { k } = await product({ per_user_limit: 5 });
    await reserve(k, { order: "o1", qty: 3, user: "u" });
    expect(await release(k, "o1")).toEqual([1, 3, "u"]);
    expect(await release(k, "o1")).toEqual([0]);
    expect(await counters(k)).toEqual({ available: 10, reserved: 0, sold: 0, res: 0, exp: 0, users: {} });
  });

  test("keeps the other holdings of the user", async () => {
    const { k } = await product();
    await reserve(k, { order: "o1", qty: 1, user: "u" });
    await reserve(k, { order: "o2", qty: 2, user: "u" });
    await release(k, "o1");
    expect((await counters(k)).users).toEqual({ u: "2" });
  });

  test("forgets the idempotency record only when asked and only its own", async () => {
    const { k } = await product();
    await reserve(k, { order: "o1", qty: 1, key: "K", hash: "h" });
    await release(k, "o1", false, "K");
    expect(await redis.exists(k.idem("K"))).toBe(1);
    await reserve(k, { order: "o2", qty: 1, key: "L", hash: "h" });
    await release(k, "o2", true, "L");
    expect(await redis.exists(k.idem("L"))).toBe(0);
  });
});

describe("commit", () => {
  test("moves reserved units to sold once and keeps the user's holding", async () => {
    const { k } = await product();
    await reserve(k, { order: "o1", qty: 2, user: "u" });
    expect(await s.commit([k.meta, k.res, k.exp], ["o1"])).toEqual([1, 2]);
    expect(await s.commit([k.meta, k.res, k.exp], ["o1"])).toEqual([0]);
    expect(await release(k, "o1")).toEqual([0]);
    expect(await counters(k)).toEqual({ available: 8, reserved: 0, sold: 2, res: 0, exp: 0, users: { u: "2" } });
  });
});

describe("restock", () => {
  test("adds units once for a given new total", async () => {
    const { k } = await product({ stock_total: 10 });
    expect(await s.restock([k.meta, k.stock], [5, 15])).toEqual([0, 15]);
    expect(await s.restock([k.meta, k.stock], [5, 15])).toEqual([1, 15]);
    expect(await redis.hget(k.meta, "stock_total")).toBe("15");
  });

  test("refuses when the shard disagrees with the database, and on an absent shard", async () => {
    const { k } = await product({ stock_total: 10 });
    expect(await s.restock([k.meta, k.stock], [5, 30])).toEqual([2, 10]);
    const absent = productKeys(nextProduct++);
    expect(await s.restock([absent.meta, absent.stock], [5, 15])).toEqual([3]);
  });
});

describe("snapshot", () => {
  test("returns live stock and the metadata, or nothing for an absent shard", async () => {
    const { k } = await product({ stock_total: 4 });
    await reserve(k, { order: "o1", qty: 1 });
    const r = await s.snapshot([k.meta, k.stock], []);
    expect(r[0]).toBe("3");
    const meta: Record<string, string> = {};
    for (let i = 1; i < r.length; i += 2) meta[String(r[i])] = String(r[i + 1]);
    expect(meta).toMatchObject({ stock_total: "4", reserved: "1", price_cents: "250", name: "P" });
    const absent = productKeys(nextProduct++);
    expect(await s.snapshot([absent.meta, absent.stock], [])).toEqual([]);
  });
});

test("a script called with the wrong number of keys is refused before reaching Redis", async () => {
  await expect(s.commit(["a"], ["o"])).rejects.toThrow(/takes 3 keys/);
});

test("scripts survive SCRIPT FLUSH (NOSCRIPT is answered by sending the script again)", async () => {
  const { k } = await product();
  await Promise.all(redis.nodes("master").map((n) => n.script("FLUSH")));
  expect((await reserve(k, { order: "o1", qty: 1 }))[0]).toBe(0);
});
