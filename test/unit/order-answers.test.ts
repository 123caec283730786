import { ServiceBroker } from "moleculer";
import { OrderAnswers } from "../../services/gateway/order-answers.ts";
import { METRIC } from "../../src/lib/metrics.ts";

type Snapshot = Array<{ labels: Record<string, string>; value?: number; count?: number; sum?: number; lastValue?: number; buckets?: Record<string, number> }>;

function registries() {
  const make = () => new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] } });
  return { aggregated: make(), direct: make() };
}

const snapshot = (b: ServiceBroker, name: string) => (b.metrics.getMetric(name) as unknown as { snapshot(): Snapshot }).snapshot();

test("what is flushed equals counting and observing every answer one by one", () => {
  const { aggregated, direct } = registries();
  const answers = OrderAnswers.register(aggregated.metrics as never)!;
  OrderAnswers.register(direct.metrics as never);
  const counter = direct.metrics.getMetric(METRIC.orderAnswers)!;
  const histogram = direct.metrics.getMetric(METRIC.orderDuration)!;
  const seen: Array<[number, string, number]> = [
    [409, "SOLD_OUT", 0.4], [409, "SOLD_OUT", 1], [202, "none", 3.2], [409, "SOLD_OUT", 12_000],
    [429, "RATE_LIMITED", 0.01], [202, "none", 10], [413, "BAD_REQUEST", 2], [400, "BAD_REQUEST", 2.5],
  ];
  const feed = (from: number, to: number) => {
    for (const [status, code, ms] of seen.slice(from, to)) {
      answers.record(status, code, ms);
      (counter as unknown as { increment(l: object, v: number): void }).increment({ status: String(status), code }, 1);
      (histogram as unknown as { observe(v: number): void }).observe(ms);
    }
  };
  // in two rounds: the first flush creates the histogram's item, the second adds to it; a
  // snapshot read in between (Moleculer caches it until the metric changes) must not stay
  feed(0, 3);
  answers.flush();
  expect(snapshot(aggregated, METRIC.orderDuration)[0].count).toBe(3);
  feed(3, seen.length);
  answers.flush();
  answers.flush(); // nothing new: changes nothing
  const strip = (s: Snapshot) => s.map(({ labels, value, count, sum, lastValue, buckets }) => ({ labels, value, count, sum, lastValue, buckets }));
  const byLabels = (s: Snapshot) => strip(s).sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
  expect(byLabels(snapshot(aggregated, METRIC.orderAnswers))).toEqual(byLabels(snapshot(direct, METRIC.orderAnswers)));
  const [h] = strip(snapshot(aggregated, METRIC.orderDuration));
  const [d] = strip(snapshot(direct, METRIC.orderDuration));
  expect({ ...h, sum: Math.round(h.sum! * 1e6) }).toEqual({ ...d, sum: Math.round(d.sum! * 1e6) });
  expect(d.count).toBe(seen.length);
});

test("nothing is registered or counted without metrics", () => {
  expect(OrderAnswers.register(null)).toBeNull();
});
