/**
 * Counts the gateway's HTTP answers by status code for `flash_http_responses_total`.
 * The count per request is one array slot increment (POST /api/orders is the hot
 * path of a drop); the registry's counter is brought up to date at scrape time.
 */
import type { ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import { METRIC } from "../../src/lib/metrics.ts";

export class HttpAnswers {
  readonly #counts = new Float64Array(600);
  readonly #flushed = new Float64Array(600);

  /** A `finish` listener shared by every response (no closure per request). */
  readonly onFinish: (this: ServerResponse) => void;

  constructor() {
    const count = (s: number) => this.count(s);
    this.onFinish = function (this: ServerResponse) {
      count(this.statusCode);
    };
  }

  /** One answer with this status (a route that counts its own answers calls this instead of listening). */
  count(status: number): void {
    this.#counts[status >= 100 && status < 600 ? status : 0]++;
  }

  static register(broker: ServiceBroker): void {
    broker.metrics.register({
      name: METRIC.httpResponses, type: "counter", labelNames: ["code"],
      description: "HTTP answers of this gateway by status code",
    });
  }

  /** Adds what was answered since the last flush to the registry's counter. */
  flush(broker: ServiceBroker): void {
    for (let s = 0; s < 600; s++) {
      const delta = this.#counts[s] - this.#flushed[s];
      if (delta === 0) continue;
      broker.metrics.increment(METRIC.httpResponses, { code: s === 0 ? "other" : String(s) }, delta);
      this.#flushed[s] = this.#counts[s];
    }
  }
}
