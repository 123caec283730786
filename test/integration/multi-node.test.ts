/**
 * Scaling out: a gateway node and two inventory nodes talking over the NATS
 * transporter. Every call for one product reaches one inventory node (Shard
 * strategy), so per-product memory on that node is safe, and the sale stays exact.
 */
import { jest } from "@jest/globals";
import type { Middleware } from "moleculer";
import { startStack, eventually, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { rowsWritten, streamDrained, tally } from "../support/orders.ts";
import { createBroker } from "../../services/index.ts";
import { testConfig } from "../support/stack.ts";
import type { ServiceBroker } from "moleculer";
import { replCommands } from "../../src/ops/repl-commands.ts";

jest.setTimeout(120_000);

const handledBy = new Map<number, Set<string>>();
const recorder: Middleware = {
  name: "RecordReserveNode",
  localAction(next: (ctx: never) => Promise<unknown>, action: { name: string }) {
    if (action.name !== "inventory.reserveMany") return next;
    return (ctx: { params: { product_id: number }; nodeID: string; broker: ServiceBroker }) => {
      const set = handledBy.get(ctx.params.product_id) ?? new Set<string>();
      set.add(ctx.broker.nodeID);
      handledBy.set(ctx.params.product_id, set);
      return next(ctx as never);
    };
  },
} as unknown as Middleware;

let gateway: Stack;
let nodes: ServiceBroker[] = [];
const exits: number[] = [];
// inv-b's exit code, when its drain has run to the end (after it left the cluster: it
// says goodbye before closing its last connections)
let exitOfB!: (code: number) => void;
const bExited = new Promise<number>((resolve) => (exitOfB = resolve));

beforeAll(async () => {
  gateway = await startStack({ TRANSPORTER: "nats", SERVICES: "gateway,orders,payments,sweeper", NODE_ID: "gw" });
  await listenForEvents(gateway.broker);
  const env = {
    TRANSPORTER: "nats", SERVICES: "inventory", STREAM_PREFIX: gateway.config.streamPrefix, DATABASE_URL: gateway.config.databaseUrl,
  };
  nodes = [
    createBroker(testConfig({ ...env, NODE_ID: "inv-a" }), { logger: false, middlewares: [recorder] }),
    createBroker(testConfig({ ...env, NODE_ID: "inv-b", SHUTDOWN_DRAIN_MS: "200" }), { logger: false, middlewares: [recorder] }, (code) => (exits.push(code), exitOfB(code))),
  ];
  await Promise.all(nodes.map((b) => b.start()));
  await gateway.broker.waitForServices(["inventory"]);
  await eventually(async () => gateway.broker.registry.getActionEndpoints("inventory.reserveMany")?.count() === 2, 10_000, "both inventory nodes");
});

afterAll(async () => {
  await Promise.all(nodes.filter((b) => b.started).map((b) => b.stop()));
  await gateway?.stop();
});

test("every product is served by one inventory node, and a sale across nodes sells exactly its stock", async () => {
  const products = await Promise.all(Array.from({ length: 24 }, () => gateway.createProduct({ stock: 5, max_per_order: 1 })));
  handledBy.clear();
  const replies = await Promise.all(
    products.flatMap((p) => Array.from({ length: 20 }, (_, i) => gateway.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: `n${i}` }))),
  );
  expect(tally(replies)).toEqual({ "202": 24 * 5, "409 SOLD_OUT": 24 * 15 });
  for (const p of products) expect(handledBy.get(p.id)?.size).toBe(1);
  // the load spreads: both nodes own some products
  expect(new Set(products.map((p) => [...handledBy.get(p.id)!][0])).size).toBe(2);
  await rowsWritten(gateway, replies.filter((r) => r.status === 202).map((r) => r.body.order_id), 30_000);
  await streamDrained(gateway);
  const { rows: [{ n }] } = await gateway.db.query("select count(*)::int as n from orders where product_id = any($1)", [products.map((p) => p.id)]);
  expect(n).toBe(120);
});

test("the REPL's drain takes a node out: it stops cleanly, leaves the cluster, and its products move to the other node", async () => {
  const drain = replCommands(() => undefined).find((c) => c.command.startsWith("drain"))!;
  await drain.action(gateway.broker, { nodeId: "inv-b" });
  expect(await bExited).toBe(0);
  expect(exits).toEqual([0]);
  expect(gateway.broker.registry.nodes.get("inv-b")?.available).not.toBe(true);
  const products = await Promise.all(Array.from({ length: 6 }, () => gateway.createProduct({ stock: 2, max_per_order: 1 })));
  handledBy.clear();
  const replies = await Promise.all(products.map((p) => gateway.http("POST", "/api/orders", { product_id: p.id, qty: 1, user_id: "after-drain" })));
  expect(replies.map((r) => r.status)).toEqual(products.map(() => 202));
  for (const p of products) expect([...handledBy.get(p.id)!]).toEqual(["inv-a"]);
  await expect(drain.action(gateway.broker, { nodeId: "inv-b" })).rejects.toThrow(/no node "inv-b"/);
});
