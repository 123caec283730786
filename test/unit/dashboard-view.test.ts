/** The dashboard's arithmetic: rates summed over nodes, restarts, quantiles from buckets, history. */
import {
  DashboardView, quantileFromBuckets, answerKey, listedNodes, HISTORY_POINTS, VANISHED_NODE_LISTED_MS, type ClusterReading, type Departure, type GatewayReading,
} from "../../src/ops/dashboard-view.ts";

const BOUNDS = [1, 5, 10, 50];
/** a node's cumulative reading: answers by key, and latencies observed so far */
function node(node_id: string, answers: Record<string, number>, latencies: number[] = []): GatewayReading {
  const buckets = Object.fromEntries(BOUNDS.map((b) => [String(b), latencies.filter((l) => l <= b).length]));
  return {
    node_id,
    answers: Object.entries(answers).map(([k, count]) => {
      const [status, code = "none"] = k.split(" ");
      return { status, code, count };
    }),
    duration: { count: latencies.length, buckets },
  };
}
const reading = (at: number, gateways: GatewayReading[], products: ClusterReading["products"] = []): ClusterReading =>
  ({ at, gateways, products, pipeline: null, audit: null, nodes: gateways.map((g) => ({ id: g.node_id, available: true, local: false, services: ["gateway"], draining: false, listed_until: null })) });

test("a 409 is keyed by its code, other answers by their status", () => {
  expect(answerKey("409", "SOLD_OUT")).toBe("409 SOLD_OUT");
  expect(answerKey("202", "none")).toBe("202");
  expect(answerKey("429", "RATE_LIMITED")).toBe("429");
});

test("quantiles interpolate inside the bucket they fall in, cap at the highest bound, and are null without observations", () => {
  // 10 observations: 4 at or under 1 ms, 6 more at or under 5 ms
  const b = { "1": 4, "5": 10, "10": 10 };
  expect(quantileFromBuckets(b, 10, 0.5)).toBeCloseTo(1 + (4 * 1) / 6);
  expect(quantileFromBuckets(b, 10, 0.2)).toBeCloseTo(0.5);
  expect(quantileFromBuckets({ "1": 0, "5": 1 }, 3, 0.99)).toBe(5); // two slower than every bound
  expect(quantileFromBuckets(b, 0, 0.5)).toBeNull();
});

test("req/s is the sum over gateway nodes of each node's answers since the previous reading", () => {
  const view = new DashboardView();
  const first = view.next(reading(0, [node("a", { "202": 10 }), node("b", { "409 SOLD_OUT": 100 })]));
  // a node seen for the first time sets its baseline: nothing happened "per second" yet
  expect(first.requests.total_per_second).toBe(0);
  expect(first.requests.totals).toEqual({ "202": 10, "409 SOLD_OUT": 100 });
  const next = view.next(reading(2000, [node("a", { "202": 30, "429": 4 }), node("b", { "409 SOLD_OUT": 160, "202": 2 })]));
  expect(next.requests.per_second).toEqual({ "202": 11, "429": 2, "409 SOLD_OUT": 30 });
  expect(next.requests.total_per_second).toBe(43);
  expect(next.requests.by_node).toEqual([
    { node_id: "a", per_second: 12, total: 34 },
    { node_id: "b", per_second: 31, total: 162 },
  ]);
  expect(next.nodes.map((n) => n.per_second)).toEqual([12, 31]);
  expect(next.requests.history).toEqual([43]); // a rate needs two readings
});

test("a node that restarted counts from zero again instead of going negative", () => {
  const view = new DashboardView();
  view.next(reading(0, [node("a", { "202": 500 }, [1, 1])]));
  const after = view.next(reading(1000, [node("a", { "202": 7 }, [20])]));
  expect(after.requests.per_second["202"]).toBe(7);
  expect(after.latency_ms.p50).toBeGreaterThan(10);
});

test("p50/p99 cover the answers of the last readings only, merged over nodes", () => {
  const view = new DashboardView();
  view.next(reading(0, [node("a", {}, Array(100).fill(40)), node("b", {})]));
  // since then: 99 fast answers on a, one slow on b (the 40 ms ones are older)
  const s = view.next(reading(1000, [node("a", {}, [...Array(100).fill(40), ...Array(99).fill(0.5)]), node("b", {}, [45])]));
  expect(s.latency_ms.p50).toBeLessThanOrEqual(1);
  expect(s.latency_ms.p99).toBeLessThanOrEqual(1);
  expect(s.latency_ms.window_seconds).toBe(1);
  const quiet = view.next(reading(2000, [node("a", {}, [...Array(100).fill(40), ...Array(99).fill(0.5)]), node("b", {}, [45, 45, 45])]));
  expect(quiet.latency_ms.p99).toBeGreaterThan(10);
});

test("each product keeps a bounded history of available, reserved and sold; a product gone from the readings is forgotten", () => {
  const view = new DashboardView();
  const p = (available: number) => ({ id: 7, name: "x", loaded: true, stock_total: 100, available, reserved: 100 - available, sold: 0, line: null });
  let s = view.next(reading(0, [], [p(100)]));
  for (let i = 1; i <= HISTORY_POINTS + 5; i++) s = view.next(reading(i * 1000, [], [p(100 - i)]));
  expect(s.products[0].history.available).toHaveLength(HISTORY_POINTS);
  expect(s.products[0].history.available.at(-1)).toBe(100 - HISTORY_POINTS - 5);
  expect(s.products[0].history.reserved.at(-1)).toBe(HISTORY_POINTS + 5);
  view.next(reading(100_000, [], []));
  expect(view.next(reading(101_000, [], [p(50)])).products[0].history.available).toEqual([50]);
});

test("the node list keeps available nodes, drops a node that left cleanly at once, and a vanished one after VANISHED_NODE_LISTED_MS", () => {
  const nodes = [{ id: "gw-1", available: true }, { id: "repl-7", available: false }, { id: "inv-2", available: false }];
  const departures = new Map<string, Departure>([["repl-7", { clean: true, at: 1000 }], ["inv-2", { clean: false, at: 1000 }]]);
  const ids = (now: number) => listedNodes(nodes, departures, now).map((n) => [n.id, n.listed_until]);
  const until = new Date(1000 + VANISHED_NODE_LISTED_MS).toISOString();
  expect(ids(1000)).toEqual([["gw-1", null], ["inv-2", until]]);
  expect(ids(1000 + VANISHED_NODE_LISTED_MS - 1)).toEqual([["gw-1", null], ["inv-2", until]]);
  expect(ids(1000 + VANISHED_NODE_LISTED_MS)).toEqual([["gw-1", null]]);
  expect(VANISHED_NODE_LISTED_MS).toBe(5 * 60_000); // what the page and docs/operating.md say
});
