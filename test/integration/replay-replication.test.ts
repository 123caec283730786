/**
 * With REDIS_MIN_REPLICAS=1 a reservation is answered 202 only once a replica holds it.
 * Its replay (a retry with the same Idempotency-Key, after a 503) must hold to the same
 * rule, and the 503 of the call that made it must not undo what the replay answered.
 * Chaos seeds 3 and 303 found a key answered 202 with two orders: the reservation was
 * released (its key forgotten) by the 503 of the call that made it after a retry had
 * been answered 202 with it (the first test failed so before the fix). A real master and
 * replica; the replica stopped (SIGSTOP) to hold WAIT back.
 */
import { Redis } from "ioredis";
import { useRedisPair } from "../support/redis-pair.ts";
import { monitorRedis } from "../support/redis-monitor.ts";
import { REPLAY_REDIS_PORT } from "../support/env.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";
import { loadScripts, replicatedScripts } from "../../src/lib/redis.ts";
import { deploymentKeys, reserveBatchKeys } from "../../src/lib/keys.ts";
import { requestHash } from "../../src/domain/reservation.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import { ScriptCode } from "../../services/inventory/script-codes.ts";
import { replyCode } from "../../services/inventory/script-codes.ts";
import type { ScriptResult } from "../../src/lib/redis.ts";

const pair = useRedisPair(REPLAY_REDIS_PORT);
// a resumed replica may take a second or two to acknowledge: the retry's WAIT must outlast that
const WAIT_MS = 6000;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ REDIS_NODES: "", REDIS_URL: pair.url, REDIS_MIN_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: String(WAIT_MS) });
});
afterEach(() => pair.resumeReplica());
afterAll(async () => {
  await stack?.stop();
});

/**
 * The commands the master runs, as MONITOR reports them (after they ran), and one
 * check of CLIENT LIST: a connection blocked in WAIT with a reserve script call waiting
 * unread in its query buffer (several hundred bytes; the health probe's PING is 14).
 */
async function watchMaster() {
  const ran: string[][] = [];
  const waiters = new Set<() => void>();
  const monitor = await monitorRedis([REPLAY_REDIS_PORT], ({ args }) => {
    ran.push(args);
    for (const w of waiters) w();
  });
  return {
    /** resolves once the commands run so far, in order, include each of `steps` (a test per command) */
    ran(steps: Array<(args: string[]) => boolean>, what: string): Promise<void> {
      const seen = () => {
        let at = 0;
        for (const args of ran) if (at < steps.length && steps[at](args)) at++;
        return at === steps.length;
      };
      if (seen()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`timed out waiting for ${what}`))), 20_000);
        const check = () => {
          if (!seen()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    async queuedBehindWait(): Promise<boolean> {
      const list = (await pair.master.client("LIST")) as string;
      return list.split("\n").some((c) => / cmd=wait\b/.test(c) && Number(/\bqbuf=(\d+)\b/.exec(c)?.[1] ?? 0) > 100);
    },
    close: () => monitor.stop(),
  };
}

const order = (productId: number, key: string) =>
  stack.http("POST", "/api/orders", { product_id: productId, qty: 2, user_id: "u1" }, { "idempotency-key": key });

test("a replay answered 202 while its first call waited in vain for the replica keeps the reservation: the key stays that order's", async () => {
  const p = await stack.createProduct({ stock: 5, per_user_limit: null });
  const key = `pair-${p.id}`;
  await stack.broker.call("inventory.rebuild", { product_id: p.id }); // no load (and its WAIT) on the way below
  const master = await watchMaster();
  const reserveScript = (args: string[]) => /^eval/i.test(args[0]) && args.includes(`{${stack.config.streamPrefix}:p:${p.id}}:meta`);
  const wait = (args: string[]) => args[0].toLowerCase() === "wait";
  try {
    pair.pauseReplica();
    // 1. the first call: reserved on the master, its WAIT blocks (the replica stopped)
    const first = order(p.id, key);
    await master.ran([reserveScript, wait], "the first call's script and WAIT");
    // 2. its retry: queued behind that WAIT on the same connection, so its script runs
    //    after the first call's WAIT gave up, and before that call's release
    const retry = order(p.id, key);
    await eventually(() => master.queuedBehindWait(), WAIT_MS, "the retry to queue behind the first WAIT");
    // 3. the first WAIT gave up (503 on its way, its release queued behind), the retry's
    //    script ran and its WAIT blocks: the replica comes back, so the retry's WAIT
    //    succeeds before that release runs
    await master.ran([reserveScript, wait, reserveScript, wait], "the retry's script and WAIT");
    await pair.resumeReplica();
    const [a, b] = await Promise.all([first, retry]);
    expect(a.status).toBe(503);
    expect(b.status).toBe(202);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const orderId = (b.body as { order_id: string }).order_id;

    // the release of the first call ran after the replay was answered: it kept the reservation
    const again = await order(p.id, key);
    expect([again.status, (again.body as { order_id: string }).order_id, again.headers.get("idempotent-replayed")]).toEqual([202, orderId, "true"]);
    expect((await stack.http("GET", `/api/products/${p.id}`)).body.stock_available).toBe(3);
    await eventually(async () => (await stack.db.query("select id from orders where idempotency_key = $1", [key])).rows.length === 1, 10_000, "the order row");
    expect((await stack.db.query("select id from orders where idempotency_key = $1", [key])).rows).toEqual([{ id: orderId }]);
  } finally {
    master.close();
  }
});

test("a replay's WAIT covers the reservation an earlier call made on another connection: not answered while only the master holds it", async () => {
  const p = await stack.createProduct({ stock: 5, per_user_limit: null });
  await stack.broker.call("inventory.rebuild", { product_id: p.id });
  const k = deploymentKeys(stack.config.streamPrefix).product(p.id);
  const keys = reserveBatchKeys(k);
  const key = `conn-${p.id}`;
  const args = (orderId: string) => [k.idem(""), Date.now(), 60_000, 3600, orderId, 1, "u1", requestHash(p.id, 1, "u1"), key, "", ""];
  const [one, two] = [new Redis(pair.url), new Redis(pair.url)];
  loadScripts(two);
  try {
    pair.pauseReplica();
    const first = (await loadScripts(one).reserveBatch(keys, args(newOrderId(p.id, Date.now())))) as unknown as ScriptResult[];
    expect(replyCode(first[0])).toBe(ScriptCode.reserve.RESERVED);
    // a new connection: its WAIT covers what the master wrote before the replay only if
    // the replay moved the connection's offset; a write does on every Redis version (7.0
    // moves it at any command, later versions only at commands that replicate)
    const replay = await replicatedScripts(two).reserveBatch(keys, args(newOrderId(p.id, Date.now())), 1, 300);
    expect(replyCode((replay.reply as unknown as ScriptResult[])[0])).toBe(ScriptCode.reserve.REPLAYED);
    expect(replay.replicas).toBe(0);
    await pair.resumeReplica();
    const later = await replicatedScripts(two).reserveBatch(keys, args(newOrderId(p.id, Date.now())), 1, 5000);
    expect(later.replicas).toBe(1);
  } finally {
    await Promise.all([one.quit(), two.quit()]);
  }
});

test("the release of a call's unanswered reservation keeps it once a replay marked it, and releases it otherwise", async () => {
  const p = await stack.createProduct({ stock: 5, per_user_limit: null });
  await stack.broker.call("inventory.rebuild", { product_id: p.id });
  const k = deploymentKeys(stack.config.streamPrefix).product(p.id);
  const scripts = loadScripts(pair.master);
  const reserve = (orderId: string, key: string) =>
    scripts.reserveBatch(reserveBatchKeys(k), [k.idem(""), Date.now(), 60_000, 3600, orderId, 1, "u1", requestHash(p.id, 1, "u1"), key, "", ""]);
  const release = (orderId: string, key: string) => scripts.release([k.meta, k.stock, k.res, k.exp, k.users, k.idem(key)], [orderId, "1"]);

  const [answered, unanswered] = [newOrderId(p.id, Date.now()), newOrderId(p.id, Date.now())];
  await reserve(answered, "kept");
  await reserve(unanswered, "dropped");
  // the sold-out edge's replay marks it as the reserve rule's does
  expect(await scripts.replayKey([k.res, k.idem("kept")], [requestHash(p.id, 1, "u1")])).toEqual(expect.stringContaining(answered));
  expect(await scripts.replayKey([k.res, k.idem("kept")], [requestHash(p.id, 2, "u1")])).toEqual(expect.stringContaining(answered));
  expect(await scripts.replayKey([k.res, k.idem("never")], [requestHash(p.id, 1, "u1")])).toBeNull();

  expect(replyCode(await release(answered, "kept"))).toBe(ScriptCode.release.ANSWERED);
  expect(replyCode(await release(unanswered, "dropped"))).toBe(ScriptCode.release.RELEASED);
  expect(await pair.master.get(k.idem("kept"))).not.toBeNull();
  expect(await pair.master.get(k.idem("dropped"))).toBeNull();
  expect(Number(await pair.master.get(k.stock))).toBe(4);
});
