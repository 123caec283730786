/**
 * `flash_order_answers_total` and `flash_order_duration_ms`: every answer of
 * POST /api/orders, counted here in plain numbers and added to Moleculer's registry
 * when something reads it (`flush()`: GET /metrics, the dashboard, a timer for the
 * rest). Through the registry each answer would cost a label hash, a counter update, a
 * histogram update and a change notification to every reporter: on a sold-out answer,
 * that was one microsecond in twenty. The numbers read are the same.
 */
import { METRIC, ORDER_DURATION_BUCKETS_MS } from "../../src/lib/metrics.ts";

interface Entry {
  status: number;
  code: string;
  /** answers since the last flush */
  pending: number;
}

/** The part of Moleculer's registry this needs. */
export interface AnswersRegistry {
  register(opts: Record<string, unknown>): unknown;
  getMetric(name: string): unknown;
}

/**
 * A histogram's state as Moleculer 0.15 keeps it (HistogramMetric.values: label hash to
 * item; bucketValues cumulative by bound). Merged into directly, since Moleculer adds
 * observations only one by one; test/unit/order-answers.test.ts checks the result equals
 * observing each value.
 */
interface HistogramItem {
  sum: number;
  count: number;
  lastValue: number | null;
  timestamp: number;
  bucketValues: Record<number, number>;
}
interface Histogram {
  values: Map<string, HistogramItem>;
  observe(value: number): HistogramItem;
  /** marks the metric changed: its cached snapshot is rebuilt on the next read */
  changed(value?: number): void;
}
interface Counter {
  increment(labels: Record<string, string>, value: number): void;
}

export class OrderAnswers {
  readonly #answers: Counter;
  readonly #duration: Histogram;
  readonly #entries = new Map<string, Entry>();
  #last: Entry | undefined;
  /** observations since the last flush, per bucket (not cumulative; the last slot: above every bound) */
  readonly #buckets = new Float64Array(ORDER_DURATION_BUCKETS_MS.length + 1);
  #sum = 0;
  #count = 0;
  #lastValue = 0;

  private constructor(answers: Counter, duration: Histogram) {
    this.#answers = answers;
    this.#duration = duration;
  }

  /** Registers both metrics; null when the broker has no metrics (then nothing is counted). */
  static register(registry: AnswersRegistry | null): OrderAnswers | null {
    if (!registry) return null;
    registry.register({
      name: METRIC.orderAnswers, type: "counter", labelNames: ["status", "code"], rate: false,
      description: "Answers of POST /api/orders by HTTP status and error code (none for a 202)",
    });
    registry.register({
      name: METRIC.orderDuration, type: "histogram", buckets: ORDER_DURATION_BUCKETS_MS, quantiles: false, rate: false,
      unit: "milliseconds", description: "Time from a POST /api/orders request's arrival to its answer, milliseconds",
    });
    const answers = registry.getMetric(METRIC.orderAnswers) as Counter | null;
    const duration = registry.getMetric(METRIC.orderDuration) as Histogram | null;
    return answers && duration ? new OrderAnswers(answers, duration) : null;
  }

  /** One answer: its status, its error code ("none" for a 202), how long it took in milliseconds. */
  record(status: number, code: string, ms: number): void {
    let e = this.#last;
    if (e === undefined || e.status !== status || e.code !== code) {
      const key = `${status} ${code}`;
      e = this.#entries.get(key);
      if (e === undefined) this.#entries.set(key, (e = { status, code, pending: 0 }));
      this.#last = e;
    }
    e.pending++;
    this.#buckets[bucketOf(ms)]++;
    this.#sum += ms;
    this.#count++;
    this.#lastValue = ms;
  }

  /** Adds what was recorded since the last flush to the registry. */
  flush(): void {
    for (const e of this.#entries.values()) {
      if (e.pending === 0) continue;
      this.#answers.increment({ status: String(e.status), code: e.code }, e.pending);
      e.pending = 0;
    }
    if (this.#count === 0) return;
    let item = this.#duration.values.get("");
    if (item === undefined) {
      // the first observation goes through Moleculer, which creates the item
      item = this.#duration.observe(this.#lastValue);
      this.#remove(this.#lastValue);
      if (this.#count === 0) return;
    }
    const bounds = ORDER_DURATION_BUCKETS_MS;
    let below = 0;
    for (let i = 0; i < bounds.length; i++) {
      below += this.#buckets[i];
      item.bucketValues[bounds[i]] += below;
    }
    item.sum += this.#sum;
    item.count += this.#count;
    item.lastValue = this.#lastValue;
    item.timestamp = Date.now();
    this.#duration.changed(this.#lastValue);
    this.#buckets.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }

  #remove(ms: number): void {
    this.#buckets[bucketOf(ms)]--;
    this.#sum -= ms;
    this.#count--;
  }
}

/** The first bucket whose bound is at least `ms` (one past the last: above every bound). */
function bucketOf(ms: number): number {
  const bounds = ORDER_DURATION_BUCKETS_MS;
  let i = 0;
  while (i < bounds.length && ms > bounds[i]) i++;
  return i;
}
