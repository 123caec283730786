/**
 * Token buckets per key, in this gateway node's memory: `ratePerSecond` tokens refill
 * continuously up to `burst`. A bucket that is full again carries no information and
 * is dropped by `sweep()`, so memory follows the active clients, not all clients ever.
 * "Now" is injected so tests need no sleeps.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** seconds until one token is available again (only when refused) */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
  }

  take(key: string): RateLimitDecision {
    const now = this.#now();
    const b = this.#buckets.get(key);
    const tokens = b ? Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate) : this.#burst;
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      return { allowed: true, retryAfterSeconds: 0 };
    }
    this.#buckets.set(key, { tokens, at: now });
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.#rate / 1000)) };
  }

  /** Drops buckets that have refilled completely. */
  sweep(): void {
    const now = this.#now();
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#rate >= this.#burst) this.#buckets.delete(key);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
