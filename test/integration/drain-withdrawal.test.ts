/**
 * A node that drains must leave the other nodes' registries before it stops answering.
 * Its readiness only tells a load balancer (HAProxy fronts the gateways); the other
 * nodes' balancers route calls to it for as long as their registry lists it. A caller
 * whose event loop is busy reads the node's goodbye late, and meanwhile keeps routing
 * calls to it: here a caller that reads every packet LAG_MS late (busy, as a loaded
 * node is) calls an action that is not retried, all along the drain of the node that
 * serves half of its calls. Every call must be answered: the draining node withdraws its
 * services at once, and stops only after every node has acknowledged the withdrawal
 * (a packet sent after it over the same connection was answered), so the calls sent
 * before it have reached the node, which answers them before its broker stops.
 */
import { jest } from "@jest/globals";
import { ServiceBroker, type Middleware } from "moleculer";
import { createBroker } from "../../services/index.ts";
import { lifecycleOf } from "../../src/lib/lifecycle.ts";
import { brokerOptions } from "../../moleculer.config.ts";
import { testConfig } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";

jest.setTimeout(60_000);

const LAG_MS = 1500;
const DRAIN_MS = 200;

/** Holds the packets its broker receives for `lag` ms while on, then handles them in the order they came. */
function laggingInbound(): { middleware: Middleware; set(ms: number): void } {
  let lag = 0;
  const queue: Array<{ at: number; run: () => void }> = [];
  let timer: NodeJS.Timeout | null = null;
  const pump = () => {
    timer = null;
    while (queue.length > 0 && queue[0].at <= Date.now()) queue.shift()!.run();
    if (queue.length > 0) timer = setTimeout(pump, queue[0].at - Date.now());
  };
  const middleware = {
    name: "LaggingInbound",
    // `this` is the transit (the metrics middleware's wrapper reads it)
    transitMessageHandler(next: (this: unknown, cmd: string, packet: unknown) => unknown) {
      return function (this: unknown, cmd: string, packet: unknown) {
        if (lag === 0 && queue.length === 0) return next.call(this, cmd, packet);
        return new Promise((resolve, reject) => {
          queue.push({
            at: Date.now() + lag,
            run: () => {
              try {
                resolve(next.call(this, cmd, packet));
              } catch (err) {
                reject(err);
              }
            },
          });
          timer ??= setTimeout(pump, queue[0].at - Date.now());
        });
      };
    },
  } as unknown as Middleware;
  return { middleware, set: (ms) => void (lag = ms) };
}

const echo = {
  name: "echo",
  // no retryPolicy: as orders.cancel or inventory.createProduct, a call that is not resent
  actions: { where: { handler(this: { broker: ServiceBroker }) { return this.broker.nodeID; } } },
};

let nodes: ServiceBroker[] = [];

afterAll(async () => {
  await Promise.all(nodes.filter((b) => b.started).map((b) => b.stop()));
});

test("a caller that reads packets late keeps calling a draining node: every call is answered, none retried", async () => {
  const prefix = `DW${Date.now().toString(36)}`;
  const env = { TRANSPORTER: "nats", SERVICES: "none", STREAM_PREFIX: prefix, SHUTDOWN_DRAIN_MS: String(DRAIN_MS) };
  const lag = laggingInbound();
  const base = brokerOptions(testConfig(env));
  const caller = new ServiceBroker({ ...base, nodeID: "dw-caller", logger: false, middlewares: [...(base.middlewares ?? []), lag.middleware] });
  // when the draining node first tells the others it leaves (an INFO packet during its shutdown)
  let announcedAt = 0;
  const announce = {
    name: "AnnounceWatch",
    transitPublish(next: (this: unknown, packet: { type: string }) => Promise<void>) {
      return function (this: unknown, packet: { type: string }) {
        if (packet.type === "INFO" && lifecycleOf(leaving).draining) announcedAt ||= Date.now();
        return next.call(this, packet);
      };
    },
  } as unknown as Middleware;
  let exitCode!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exitCode = resolve));
  const staying = createBroker(testConfig({ ...env, NODE_ID: "dw-a" }), { logger: false });
  const leaving = createBroker(testConfig({ ...env, NODE_ID: "dw-b" }), { logger: false, middlewares: [announce] }, (code) => exitCode(code));
  nodes = [caller, staying, leaving];
  for (const b of [staying, leaving]) b.createService(echo);
  await Promise.all(nodes.map((b) => b.start()));
  await eventually(async () => caller.registry.getActionEndpoints("echo.where")?.count() === 2, 10_000, "both echo nodes");

  lag.set(LAG_MS);
  void lifecycleOf(leaving).shutdown("test drain", exitCode);
  // a call every 10 ms until the node is gone and the caller has seen it leave, each
  // remembered with where it went and when
  const calls: Array<Promise<{ node: string; sentAt: number; answer: string }>> = [];
  let gone = false;
  void exited.then(() => (gone = true));
  const listed = () => caller.registry.getActionEndpoints("echo.where")?.endpoints.some((ep) => ep.id === "dw-b") === true;
  for (let i = 0; !gone || listed(); i++) {
    const sentAt = Date.now();
    const p = caller.call<string, object>("echo.where", { i }, { retries: 0 }) as Promise<string> & { ctx?: { nodeID: string } };
    const node = p.ctx?.nodeID ?? "?";
    calls.push(p.then((answer) => ({ node, sentAt, answer }), (err: Error) => ({ node, sentAt, answer: `${err.name}: ${err.message}` })));
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(await exited).toBe(0);
  lag.set(0);
  const results = await Promise.all(calls);

  // the interleaving happened: calls went to the leaving node after it said it leaves
  const late = results.filter((r) => r.node === "dw-b" && r.sentAt > announcedAt);
  console.log(`drain withdrawal: ${results.length} calls, ${late.length} sent to dw-b after it announced leaving, ${results.filter((r) => r.answer !== r.node).length} failed`);
  expect(announcedAt).toBeGreaterThan(0);
  expect(late.length).toBeGreaterThan(10);
  // and every call was answered by the node it went to
  expect(results.filter((r) => r.answer !== r.node)).toEqual([]);
});
