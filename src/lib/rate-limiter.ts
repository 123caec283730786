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

const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterSeconds: 0 });

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
    let b = this.#buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
      b.at = now;
    } else {
      this.#buckets.set(key, (b = { tokens: this.#burst, at: now }));
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.#rate / 1000)) };
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
