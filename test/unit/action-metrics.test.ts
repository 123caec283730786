/**
 * The per-action metrics middleware (src/lib/action-metrics.ts) on a real broker:
 * what Prometheus gets per action, and that Moleculer's other middlewares still run.
 */
import moleculer, { ServiceBroker } from "moleculer";
import { brokerMiddlewares } from "../../src/lib/action-metrics.ts";

type Item = { labels: Record<string, unknown>; value?: number; count?: number; buckets?: Record<string, number>; quantiles?: unknown };
type Snapshot = (name: string) => Item[];

let broker: ServiceBroker;
let snapshot: Snapshot;

beforeAll(async () => {
  broker = new ServiceBroker({
    logger: false,
    transporter: null,
    metrics: { enabled: true, reporter: [] },
    internalMiddlewares: false,
    middlewares: brokerMiddlewares() as never,
  });
  broker.createService({
    name: "shop",
    actions: {
      ok: { params: { n: "number" }, handler: (ctx) => (ctx.params as { n: number }).n * 2 },
      fail: {
        handler() {
          throw new moleculer.Errors.MoleculerClientError("no", 409, "SOLD_OUT");
        },
      },
    },
  });
  await broker.start();
  const registry = broker.metrics as unknown as { getMetric(n: string): { snapshot(): Item[] } | null };
  snapshot = (name) => registry.getMetric(name)?.snapshot() ?? [];
});
afterAll(() => broker.stop());

test("each call counts once per action, errors by type, and its time lands in histogram buckets without a quantile reservoir", async () => {
  expect(await broker.call("shop.ok", { n: 2 })).toBe(4);
  expect(await broker.call("shop.ok", { n: 3 })).toBe(6);
  await expect(broker.call("shop.fail")).rejects.toMatchObject({ type: "SOLD_OUT" });

  const total = snapshot("moleculer.request.total");
  expect(total.find((i) => i.labels.action === "shop.ok")).toMatchObject({ value: 2, labels: { service: "shop", type: "local", caller: null } });
  expect(total.find((i) => i.labels.action === "shop.fail")?.value).toBe(1);

  const errors = snapshot("moleculer.request.error.total");
  expect(errors).toEqual([expect.objectContaining({ value: 1, labels: expect.objectContaining({ action: "shop.fail", errorType: "SOLD_OUT", errorCode: 409 }) })]);

  const time = snapshot("moleculer.request.time").find((i) => i.labels.action === "shop.ok")!;
  expect(time.count).toBe(2);
  expect(Object.values(time.buckets ?? {}).some((n) => n > 0)).toBe(true);
  expect(time.quantiles).toBeUndefined();
});

test("the other internal middlewares still apply: params are validated", async () => {
  await expect(broker.call("shop.ok", { n: "two" })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
});

test("no metric keeps Moleculer's in-process rate (an interval per series whose tick keeps V8 recompiling the metric code): not the built-in ones, not one registered later", async () => {
  type Store = Map<string, { rate?: unknown; values: Map<string, { rate?: unknown }> }>;
  const registry = broker.metrics as unknown as { store: Store; register(o: Record<string, unknown>): { increment(l?: object): void } };
  await broker.call("shop.ok", { n: 1 });
  broker.emit("shop.happened", {});
  const later = registry.register({ name: "shop.later.total", type: "counter", labelNames: ["k"], rate: true });
  later.increment({ k: "a" });

  const withRate = [...registry.store].filter(([, m]) => m.rate || [...m.values.values()].some((item) => item.rate)).map(([name]) => name);
  expect(withRate).toEqual([]);
  // the series the built-in middleware counts did get made (so the check above looked at something)
  expect(registry.store.get("moleculer.request.total")!.values.size).toBeGreaterThan(0);
  expect(registry.store.get("shop.later.total")!.values.size).toBe(1);
  const text = (broker.metrics as unknown as { list(): Array<{ name: string }> }).list().map((m) => m.name);
  expect(text).toContain("moleculer.event.emit.total");
});
