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
