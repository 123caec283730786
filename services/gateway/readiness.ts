/**
 * The gateway's view of its dependencies for GET /health/ready, kept by a background
 * probe: ready when the last probe succeeded and is recent. A failure is believed at
 * once (the node stops taking new connections); a silent probe (the process stalled)
 * counts as a failure once it is older than `staleMs`.
 */
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
