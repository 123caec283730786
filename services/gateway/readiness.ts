/**
 * The gateway's view of its dependencies for GET /health/ready, kept by a background
 * probe: ready when the last probe succeeded and is recent. A failure is believed at
 * once (the node stops taking new connections); a silent probe (the process stalled)
 * counts as a failure once it is older than `staleMs`.
 */
import type { ServiceBroker } from "moleculer";

export class ReadinessProbe {
  readonly #staleMs: number;
  #at = 0;
  #failure: string | null = "not probed yet";

  constructor(staleMs: number) {
    this.#staleMs = staleMs;
  }

  record(at: number, failure: string | null): void {
    this.#at = at;
    this.#failure = failure;
  }

  /** null when ready, else why not. */
  reason(now: number): string | null {
    if (this.#failure !== null) return this.#failure;
    return now - this.#at > this.#staleMs ? "the dependency probe is late" : null;
  }
}

/**
 * Asks an inventory node whether every Redis master is up, and records the answer in
 * `readiness`. No inventory node known (yet): not ready, without a call that can only fail.
 */
export function inventoryProbe(broker: ServiceBroker, readiness: ReadinessProbe, timeoutMs: number): () => Promise<void> {
  return async () => {
    if (!broker.registry.getActionEndpoints("inventory.health")?.hasAvailable()) {
      return readiness.record(Date.now(), "no inventory node answers");
    }
    await broker
      .call<{ redis: string }, object>("inventory.health", {}, { timeout: timeoutMs, retries: 1 })
      .then((r) => readiness.record(Date.now(), r.redis === "up" ? null : "Redis is down"))
      .catch(() => readiness.record(Date.now(), "no inventory node answers"));
  };
}
