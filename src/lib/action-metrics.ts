/**
 * Moleculer's Metrics middleware with a cheaper per-action part. The built-in one
 * makes six label-hashed registry updates per action call (total, active up, levels,
 * a timer, active down, plus errors) and keeps a quantile reservoir per action: a
 * tenth of a gateway's CPU when two actions run per HTTP request. This one keeps the
 * built-in events, transit and transporter metrics as they are, and per action call
 * records the same request counter, error counter and latency histogram (buckets:
 * Prometheus computes quantiles from them) with pre-resolved metric objects.
 * Dropped: moleculer_request_active and moleculer_request_levels.
 */
import moleculer, { type ServiceBroker, type Context, type Middleware } from "moleculer";
import { DependencyErrors } from "./dependency-errors.ts";

type Labels = Record<string, string | number | null>;
interface MetricObj {
  increment(labels?: Labels, value?: number, timestamp?: number): void;
  observe(value: number, labels?: Labels, timestamp?: number): void;
}
interface Registry {
  register(opts: Record<string, unknown>): unknown;
  getMetric(name: string): MetricObj | null;
  store: Map<string, { rate?: unknown; values: Map<string, { rate?: { timer?: NodeJS.Timeout } }> }>;
}
type ActionDef = { name: string; service?: { fullName: string } };
type Handler = (ctx: Context) => Promise<unknown>;

const { METRIC, INTERNAL_MIDDLEWARES, Middlewares } = moleculer as unknown as {
  METRIC: Record<string, string>;
  INTERNAL_MIDDLEWARES: string[];
  Middlewares: { Metrics: (b: ServiceBroker) => Middleware };
};

/**
 * The broker's middlewares: moleculer's internal ones, in their order, with this
 * Metrics in place of the built-in. Use with `internalMiddlewares: false`.
 */
export function brokerMiddlewares(): Array<string | Middleware | ((broker: ServiceBroker) => Middleware)> {
  return [...INTERNAL_MIDDLEWARES.map((name) => (name === "Metrics" ? ActionMetrics : name)), DependencyErrors as unknown as Middleware];
}

export function ActionMetrics(broker: ServiceBroker): Middleware {
  const builtin = Middlewares.Metrics(broker) as Middleware & { created?: (b: ServiceBroker) => void };
  const enabled = broker.isMetricsEnabled();
  const registry = broker.metrics as unknown as Registry;

  function wrap(type: "local" | "remote", action: ActionDef, next: Handler): Handler {
    const service = action.service ? action.service.fullName : null;
    const name = action.name;
    let total: MetricObj, errors: MetricObj, time: MetricObj;
    const byCaller = new Map<string | null, Labels>();
    return function actionMetrics(ctx: Context): Promise<unknown> {
      if (!total) {
        total = registry.getMetric(METRIC.MOLECULER_REQUEST_TOTAL)!;
        errors = registry.getMetric(METRIC.MOLECULER_REQUEST_ERROR_TOTAL)!;
        time = registry.getMetric(METRIC.MOLECULER_REQUEST_TIME)!;
      }
      const caller = ctx.caller ?? null;
      let labels = byCaller.get(caller);
      if (!labels) byCaller.set(caller, (labels = { service, action: name, caller, type }));
      total.increment(labels);
      const start = performance.now();
      return next(ctx).then(
        (res) => {
          time.observe(performance.now() - start, labels);
          return res;
        },
        (err: { name?: string; code?: number | string; type?: string } | null) => {
          time.observe(performance.now() - start, labels);
          errors.increment({
            ...labels,
            errorName: err?.name ?? null,
            errorCode: (err?.code as number) ?? null,
            errorType: err?.type ?? null,
          });
          throw err;
        },
      );
    };
  }

  return {
    ...builtin,
    name: "Metrics",
    created(b: ServiceBroker) {
      if (enabled) withoutRates(registry);
      builtin.created?.call(this, b);
      if (!enabled) return;
      // replaces the built-in request-time histogram: buckets, no quantile reservoir
      registry.register({
        name: METRIC.MOLECULER_REQUEST_TIME,
        type: METRIC.TYPE_HISTOGRAM,
        labelNames: ["service", "action", "type", "caller"],
        buckets: true,
        quantiles: false,
        unit: METRIC.UNIT_MILLISECONDS,
        description: "Request times in milliseconds",
      });
    },
    localAction(next: Handler, action: ActionDef) {
      return enabled ? wrap("local", action, next) : next;
    },
    remoteAction(next: Handler, action: ActionDef) {
      return enabled ? wrap("remote", action, next) : next;
    },
  } as unknown as Middleware;
}

/**
 * Every metric of the registry, those registered so far and those to come, without
 * Moleculer's in-process rate (`rate: true` on its request, event and transit metrics).
 * That rate is a MetricRate per labelled series with an interval of its own whose tick
 * rewrites the series' fields (a small integer becomes a double); V8 then keeps aborting
 * the optimisation of the functions that update metrics on every call (gauge set,
 * increment, decrement, histogram observe, the metrics middlewares: "Maps became
 * deprecated during optimization") and compiles them again and again on its background
 * threads, for as long as the process runs: most of a gateway node's CPU in the
 * scale-out experiment (bench/results/HISTORY.md, 2026-12-04). Nothing here reads the rate:
 * Prometheus computes rates from the counters (`rate(moleculer_request_total[1m])`);
 * what goes away is the `*_rate` lines of GET /metrics.
 */
export function withoutRates(registry: Registry): void {
  const register = registry.register.bind(registry);
  registry.register = (opts) => register({ ...opts, rate: false });
  for (const metric of registry.store.values()) {
    metric.rate = false;
    for (const item of metric.values.values()) {
      if (!item.rate) continue;
      clearInterval(item.rate.timer);
      delete item.rate;
    }
  }
}
