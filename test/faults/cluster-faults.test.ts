/**
 * The fault suite: a cluster of the test's own (scripts/cluster.sh: two gateways behind
 * HAProxy, two inventory, two orders, payments+sweeper ×2, Redis Cluster 3+3, its own
 * NATS and PostgreSQL), broken for real during a burst of buyers through the load
 * balancer. Buyers behave as real clients: a key per purchase, retried with it on a
 * connection error, a timeout or a 503 (test/support/buyers.ts) — except the rolling
 * restart's, which never retry: a graceful restart must leave them nothing to retry.
 *
 * After every fault: each purchase got a final answer and never a 500; each 202 has
 * exactly one order in PostgreSQL, none `rejected`, with the purchase's key; no order
 * exists that no buyer was told of; pending + paid ≤ stock; the audit is ok once the
 * pipeline drained and orphans expired. Each test prints how many requests were
 * retried and how long the service answered 503.
 */
import { jest } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { startCluster, exited, faultSettings, type TestCluster } from "../support/cluster.ts";
import { burst, type BurstReport } from "../support/buyers.ts";
import { eventually } from "../support/stack.ts";
import { deploymentKeys } from "../../src/lib/keys.ts";
import { streamNames } from "../../src/lib/streams.ts";

jest.setTimeout(300_000);

const TTL_SECONDS = 6;
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster(faultSettings(TTL_SECONDS));
}, 300_000);

afterAll(async () => {
  if (!c || process.env.KEEP_FAULT_CLUSTER === "1") return; // left up to be looked at
  await c.down(); // every process of it, passing or failing, and its data
});

async function sale(stock: number, fields: Record<string, unknown> = {}): Promise<number> {
  const r = await c.admin("POST", "/api/admin/products", { name: "Drop", price_cents: 1000, stock, max_per_order: 1, ...fields });
  if (r.status !== 201) throw new Error(`create product: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** A burst that runs while `fault` runs, once `startAfter` buyers were answered. */
async function burstWithFault(
  productId: number,
  tag: string,
  fault: () => Promise<void>,
  { buyers = 2000, startAfter = 300 } = {},
): Promise<BurstReport> {
  let trigger!: () => void;
  const started = new Promise<void>((resolve) => (trigger = resolve));
  const faulted = started.then(fault);
  const report = await burst({
    url: c.url, productId, buyers, concurrency: 48, tag,
    onProgress: (done) => done === startAfter && trigger(),
  });
  trigger(); // a burst faster than startAfter still runs the fault
  await faulted;
  return report;
}

/** The Redis nodes serving `slot` now: its master's port and its replicas' ports. */
async function slotNodes(slot: number): Promise<{ master: number; replicas: number[] }> {
  const slots = (await c.redis.cluster("SLOTS")) as unknown as Array<[number, number, ...Array<[string, number, string]>]>;
  const [, , master, ...replicas] = slots.find(([from, to]) => slot >= from && slot <= to)!;
  return { master: master[1], replicas: replicas.map((r) => r[1]) };
}

async function gatewayReady(name: string): Promise<void> {
  const p = await c.proc(name);
  await eventually(async () => (await fetch(`http://127.0.0.1:${p.port}/health/ready`).catch(() => null))?.status === 200, 60_000, `${name} ready`);
}

async function nodeBack(name: string): Promise<void> {
  if (name.startsWith("gateway")) return gatewayReady(name);
  await eventually(async () => c.broker.registry.nodes.get(name)?.available === true, 60_000, `${name} back in the cluster`);
}

async function restart(name: string): Promise<void> {
  await c.start(name);
  await nodeBack(name);
}

/** The checks every fault must pass (see the header). */
async function verify(fault: string, productId: number, reports: BurstReport[]): Promise<void> {
  const purchases = reports.flatMap((r) => r.purchases);
  const summary = {
    fault,
    purchases: purchases.length,
    won: purchases.filter((p) => p.status === 202).length,
    retried_requests: reports.reduce((s, r) => s + r.retries, 0),
    answered_503: reports.reduce((s, r) => s + r.unavailable, 0),
    unavailable_ms: Math.max(...reports.map((r) => r.unavailableMs)),
    answers: reports.reduce<Record<string, number>>((acc, r) => {
      for (const [k, v] of Object.entries(r.answers)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
  };
  console.log(`fault suite: ${JSON.stringify(summary)}`);

  expect(reports.flatMap((r) => r.serverErrors)).toEqual([]);
  expect(purchases.filter((p) => p.status === null).map((p) => `${p.key}: ${p.code}`)).toEqual([]);
  expect(purchases.filter((p) => p.status !== 202 && p.status !== 409).map((p) => `${p.key} ${p.status} ${p.code}`)).toEqual([]);

  const winners = purchases.filter((p) => p.status === 202);
  expect(winners.length).toBeGreaterThan(0);
  // every order a buyer was told of lands (the pipeline may still be catching up)...
  const told = new Set(winners.map((w) => w.orderId!));
  await eventually(async () => {
    const { rows: [n] } = await c.db.query<{ n: number }>("select count(*)::int as n from orders where id = any($1::uuid[])", [[...told]]);
    return n.n === told.size;
  }, 90_000, `every acknowledged order of "${fault}" in PostgreSQL`);
  // ...the pipeline drains, orphans expire, and then the audit holds, drained-only invariants included
  const audit = await eventually(async () => {
    const r = await c.admin("GET", "/api/admin/audit");
    return r.status === 200 && r.body.ok && r.body.pipeline.drained ? r.body : null;
  }, 90_000, `audit ok and drained after "${fault}"`);
  expect(audit.ok).toBe(true);

  const { rows } = await c.db.query<{ id: string; status: string; idempotency_key: string | null }>(
    "select id::text, status, idempotency_key from orders where product_id = $1", [productId],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  // every 202 has exactly one order (ids are the primary key), with its key, never rejected
  const unmatched = winners.filter((w) => byId.get(w.orderId!)?.idempotency_key !== w.key);
  const byKey = new Map(rows.map((r) => [r.idempotency_key, r]));
  expect(unmatched.slice(0, 5).map((w) => ({ key: w.key, told: w.orderId, row: byId.get(w.orderId!) ?? null, rowOfKey: byKey.get(w.key) ?? null }))).toEqual([]);
  expect(rows.filter((r) => r.status === "rejected")).toEqual([]);
  // and no order exists that no buyer was told of
  expect(rows.filter((r) => !told.has(r.id)).map((r) => r.id)).toEqual([]);

  const { rows: [units] } = await c.db.query<{ held: number; stock_total: number }>(
    `select coalesce(sum(o.qty) filter (where o.status in ('pending', 'paid')), 0)::int as held, p.stock_total
       from products p left join orders o on o.product_id = p.id where p.id = $1 group by p.stock_total`, [productId],
  );
  expect(units.held).toBeLessThanOrEqual(units.stock_total);
}

test("kill -9 of a gateway: the balancer moves on, retried purchases get their order once", async () => {
  const product = await sale(300);
  const report = await burstWithFault(product, "gw-kill", async () => {
    const pid = await c.signal("gateway-1", "SIGKILL");
    await exited(pid);
  });
  await restart("gateway-1");
  await verify("kill -9 gateway", product, [report]);
});

test("kill -9 of the inventory node that owns the hot product: its products move, the sale stays exact", async () => {
  const product = await sale(300);
  const owner = (await c.broker.call<{ node_id: string }, object>("inventory.shard", { product_id: product })).node_id;
  const report = await burstWithFault(product, "inv-kill", async () => {
    const pid = await c.signal(owner, "SIGKILL");
    await exited(pid);
  });
  const now = (await c.broker.call<{ node_id: string }, object>("inventory.shard", { product_id: product })).node_id;
  expect(now).not.toBe(owner);
  await restart(owner);
  await verify("kill -9 hot inventory node", product, [report]);
});

test("kill -9 of an orders node in the middle of a batch: its messages are redelivered and written once", async () => {
  const product = await sale(600);
  const report = await burstWithFault(product, "ord-kill", async () => {
    // a node that is writing: it has taken batches already
    await eventually(async () => ((await c.broker.call<{ batches: number } | null, object>("orders.stats", {}, { nodeID: "orders-1" }))?.batches ?? 0) > 0, 30_000, "orders-1 writing");
    const pid = await c.signal("orders-1", "SIGKILL");
    await exited(pid);
  }, { buyers: 2000, startAfter: 200 });
  await restart("orders-1");
  await verify("kill -9 orders node mid-batch", product, [report]);
});

test("kill -9 of the Redis master of the hot product's slot: the replica is promoted, no accepted order is lost", async () => {
  const product = await sale(300);
  const slot = Number(await c.redis.cluster("KEYSLOT", deploymentKeys(c.prefix).product(product).stock));
  const { master: masterPort, replicas } = await slotNodes(slot);
  const report = await burstWithFault(product, "redis-kill", async () => {
    const pid = await c.signal(`redis-${masterPort}`, "SIGKILL");
    await exited(pid);
    // a replica takes over (asked of Redis itself), then the old master comes back as a replica
    await eventually(async () => (await c.ps()).some((p) => replicas.includes(p.port!) && p.role === "redis-master"), 30_000, "replica promoted");
    await c.start(`redis-${masterPort}`);
    await eventually(async () => (await c.ps()).find((p) => p.name === `redis-${masterPort}`)?.role === "redis-replica", 30_000, "old master back as replica");
  });
  await verify("kill -9 Redis master", product, [report]);
});

test("kill -9 of NATS and a restart: the stream and the consumer resume from the file store", async () => {
  const product = await sale(300);
  const report = await burstWithFault(product, "nats-kill", async () => {
    const pid = await c.signal("nats", "SIGKILL");
    await exited(pid);
    await c.start("nats");
    for (const gw of ["gateway-1", "gateway-2"]) await gatewayReady(gw);
  });
  await verify("kill -9 NATS, restart", product, [report]);
  // the stream and its durable consumer came back from the file store, drained
  const names = streamNames(c.prefix);
  const info = await (await c.jsm()).consumers.info(names.orders, names.ordersConsumer);
  expect(info.num_pending + info.num_ack_pending).toBe(0);
});

test("PostgreSQL stopped for 20 s: orders are still accepted and land when it is back", async () => {
  // stock enough that the sale goes on through the whole outage
  const product = await sale(5000);
  const during: BurstReport[] = [];
  const report = await burstWithFault(product, "pg-stop", async () => {
    await c.stop("postgres");
    const down = Date.now();
    // buyers keep buying through the outage, reads answer from the shard
    while (Date.now() - down < 20_000) {
      const r = await burst({ url: c.url, productId: product, buyers: 100, concurrency: 8, tag: `pg-stop-during-${during.length}` });
      during.push(r);
      const won = r.purchases.find((p) => p.status === 202);
      if (won) {
        const order = await fetch(`${c.url}/api/orders/${won.orderId}`);
        expect({ status: order.status, body: JSON.parse(await order.text()) }).toMatchObject({ status: 200, body: { status: "reserved" } });
      }
      expect((await fetch(`${c.url}/api/products/${product}`)).status).toBe(200);
    }
    await c.start("postgres");
  }, { buyers: 1000, startAfter: 100 });
  expect(during.flatMap((r) => r.purchases).filter((p) => p.status === 202).length).toBeGreaterThan(0);
  await verify("PostgreSQL down 20 s", product, [report, ...during]);
});

test("SIGSTOP of an orders node past its ack wait, then SIGCONT: the other node takes its messages, nothing is written twice", async () => {
  const product = await sale(50_000);
  const names = streamNames(c.prefix);
  // redeliveries so far: every delivery, redeliveries included, takes a consumer sequence;
  // the stream sequence is the last message delivered (num_redelivered would not do: it
  // drops back to 0 as soon as the redelivered messages are acked, a few ms for one
  // message of a micro-batch)
  const jsm = await c.jsm();
  const redeliveries = async () => {
    const { delivered } = await jsm.consumers.info(names.orders, names.ordersConsumer);
    return delivered.consumer_seq - delivered.stream_seq;
  };
  const before = await redeliveries();
  // Stopped first, then the buyers come: the server keeps handing the stopped node's open
  // pull request its share of the new messages, which it holds past ack_wait until the
  // server gives them to the other node. Buyers keep coming until that redelivery is seen
  // (a burst started after the stop could otherwise end before the stopped node got any).
  await c.signal("orders-2", "SIGSTOP");
  const reports: BurstReport[] = [];
  try {
    let seen = false;
    // settled as a value, so a timeout waits for the running burst instead of going unhandled
    const redelivered = eventually(async () => (await redeliveries()) > before, 60_000, "a redelivery")
      .then(() => null, (err: unknown) => err)
      .finally(() => (seen = true));
    for (let round = 0; !seen; round++) {
      reports.push(await burst({ url: c.url, productId: product, buyers: 200, concurrency: 24, tag: `ord-stop-${round}` }));
    }
    const failed = await redelivered;
    if (failed) throw failed;
  } finally {
    await c.signal("orders-2", "SIGCONT");
  }
  await nodeBack("orders-2");
  await verify("SIGSTOP orders node", product, reports);
});

test("a rolling restart of every node under load, behind HAProxy, fails no request of clients that never retry", async () => {
  // one product owned by each inventory node (the Shard strategy), so that each
  // inventory node drains with reservations routed to it; stock that lasts the run, so
  // every request goes to an inventory node (no sold-out answer from the gateway's edge)
  const owned = new Map<string, number>();
  for (let i = 0; owned.size < 2; i++) {
    if (i === 20) throw new Error(`20 products, owners: ${[...owned.keys()].join(", ")}`);
    const id = await sale(100_000, { max_per_order: 1 });
    owned.set((await c.broker.call<{ node_id: string }, object>("inventory.shard", { product_id: id })).node_id, id);
  }
  const nodes = ["gateway-1", "gateway-2", "inventory-1", "inventory-2", "orders-1", "orders-2", "ops-1", "ops-2"];
  expect([...owned.keys()].sort()).toEqual(["inventory-1", "inventory-2"]);
  let rolling = true;
  const reports: BurstReport[] = [];
  const load = [...owned.values()].map(async (product) => {
    for (let round = 0; rolling; round++) {
      reports.push(await burst({ url: c.url, productId: product, buyers: 300, concurrency: 12, tag: `roll-${product}-${round}`, retry: false }));
    }
  });
  // SIGTERM to exit: unready and still serving for SHUTDOWN_DRAIN_MS, then the broker stops
  const drains: Array<{ name: string; from: number; to: number }> = [];
  for (const name of nodes) {
    const from = Date.now();
    await c.stop(name); // SIGTERM: unready, drain, finish, exit
    drains.push({ name, from, to: Date.now() });
    await restart(name);
  }
  rolling = false;
  await Promise.all(load);
  const purchases = reports.flatMap((r) => r.purchases);

  // every node drained under load: requests in flight while its broker stopped (the
  // node's product's requests for an inventory node), from the end of its drain period
  // to its exit
  const drainMs = Number(c.env.SHUTDOWN_DRAIN_MS);
  const underLoad = drains.map(({ name, from, to }) => {
    const mine = name.startsWith("inventory") ? purchases.filter((p) => p.key.startsWith(`roll-${owned.get(name)}-`)) : purchases;
    const during = (a: number, b: number) => mine.filter((p) => p.sentAt < b && p.answeredAt > a).length;
    return { name, drain_ms: to - from, in_flight: during(from, to), while_stopping: during(from + drainMs, to) };
  });
  console.log(`rolling restart: ${purchases.length} requests, ${JSON.stringify(underLoad)}`);
  expect(underLoad.filter((d) => d.while_stopping === 0)).toEqual([]);
  // and not one request failed: every buyer's first answer was final (202 or 409)
  expect(purchases.filter((p) => p.status !== 202 && p.status !== 409).map((p) => ({
    key: p.key, status: p.status, failure: p.failure, sent: new Date(p.sentAt).toISOString(), answered: new Date(p.answeredAt).toISOString(),
  }))).toEqual([]);

  // a node started by cluster.sh does not hold its start lock: its next start (the
  // supervisor's, an operator's) need not wait for it
  for (const name of nodes) {
    expect([name, spawnSync("flock", ["-n", `${c.env.CLUSTER_DIR}/locks/${name}`, "true"]).status]).toEqual([name, 0]);
  }
  for (const product of owned.values()) await verify("rolling restart", product, reports.filter((r) => r.purchases[0]?.key.startsWith(`roll-${product}-`)));
});

test("nobody restarts anything: a Redis master, an inventory node, a gateway and an orders node die one after the other, and the sale goes on to the last unit", async () => {
  const stock = 4000;
  const product = await sale(stock, { max_per_order: 1 });
  const slot = Number(await c.redis.cluster("KEYSLOT", deploymentKeys(c.prefix).product(product).stock));
  const { master, replicas } = await slotNodes(slot);
  const owner = (await c.broker.call<{ node_id: string }, object>("inventory.shard", { product_id: product })).node_id;
  const victims = [`redis-${master}`, owner, "gateway-1", "orders-1"];
  const before = new Map((await c.ps()).map((p) => [p.name, p.restarts]));
  const won = (reports: BurstReport[]) => reports.reduce((n, r) => n + r.purchases.filter((p) => p.status === 202).length, 0);

  await c.supervise(true);
  try {
    // buyers at a steady pace (rounds of 50 every 250 ms at most) until the last unit is gone
    let faulting = true;
    const reports: BurstReport[] = [];
    const load = (async () => {
      for (let round = 0; faulting || won(reports) < stock; round++) {
        const pace = new Promise((r) => setTimeout(r, 250));
        reports.push(await burst({ url: c.url, productId: product, buyers: 50, concurrency: 10, tag: `heal-${round}` }));
        await pace;
      }
    })();
    const soldBefore: number[] = [];
    for (const name of victims) {
      soldBefore.push(won(reports));
      await exited(await c.signal(name, "SIGKILL"));
      if (name === victims[0]) {
        // one of its replicas takes the slot and still has the other: it sells at once
        await eventually(async () => {
          const now = await slotNodes(slot);
          return replicas.includes(now.master) && now.replicas.length >= 1;
        }, 30_000, "a replica promoted, with a replica of its own");
      }
      // the cluster's supervisor starts it again: a new pid, one more restart
      await eventually(async () => {
        const p = (await c.ps()).find((x) => x.name === name)!;
        return p.pid !== null && p.restarts > before.get(name)!;
      }, 60_000, `${name} started again by the supervisor`);
    }
    faulting = false;
    await load;
    // every fault came while units were left, and the sale went on to the last unit (at
    // least: unpaid reservations expire after TTL_SECONDS here and their units sell again)
    expect(soldBefore.every((n) => n < stock)).toBe(true);
    expect(won(reports)).toBeGreaterThanOrEqual(stock);
    await verify("self-healing", product, reports);
    // the old master is back, as a replica of the slot's new master
    await eventually(async () => (await slotNodes(slot)).replicas.includes(master), 30_000, "the old master back as a replica");
  } finally {
    await c.supervise(false);
  }
});

test("clock edges: nothing is sold before sale_starts_at nor at or after sale_ends_at", async () => {
  const starts = Date.now() + 1500;
  const ends = starts + 1500;
  const product = await sale(100000, { sale_starts_at: new Date(starts).toISOString(), sale_ends_at: new Date(ends).toISOString() });
  const reports: BurstReport[] = [];
  for (let round = 0; Date.now() < ends + 500; round++) {
    reports.push(await burst({ url: c.url, productId: product, buyers: 100, concurrency: 16, tag: `edge-${round}` }));
  }
  const purchases = reports.flatMap((r) => r.purchases);
  expect(purchases.some((p) => p.code === "SALE_NOT_ACTIVE")).toBe(true);
  await verify("clock edges", product, reports);
  const { rows } = await c.db.query<{ created: string }>(
    "select (extract(epoch from created_at) * 1000)::bigint::text as created from orders where product_id = $1", [product],
  );
  const created = rows.map((r) => Number(r.created));
  expect(created.length).toBeGreaterThan(0);
  expect(created.filter((t) => t < starts || t >= ends)).toEqual([]);
});
