/**
 * Token buckets per key, in this gateway node's memory: `ratePerSecond` tokens refill
 * continuously up to `burst`. "Now" is injected so tests need no sleeps.
 *
 * A bucket that is full again carries no information, so memory follows the active
 * clients, not all clients ever: buckets live in two generations. Every period (the time
 * an empty bucket takes to refill, at least a second) the older generation is dropped
 * whole and the current one becomes the older; a bucket used again moves to the current
 * one. A dropped bucket was untouched for at least a period, so it was full: forgetting
 * it changes no decision. In a drop every request may be a new buyer; this keeps the
 * maps at the size of one or two periods of buyers (lookups stay in cache) and costs no
 * sweep over them.
 */
import { FlashError } from "../../src/lib/errors.ts";

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
  readonly #periodMs: number;
  #current = new Map<string, Bucket>();
  #previous = new Map<string, Bucket>();
  #rotateAt: number;

  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#periodMs = Math.max(1000, Math.ceil(burst / this.#rate));
    this.#rotateAt = now() + this.#periodMs;
  }

  take(key: string): RateLimitDecision {
    const now = this.#now();
    if (now >= this.#rotateAt) this.#rotate(now);
    let b = this.#current.get(key);
    if (b === undefined) {
      // used in the last period: carried into this one
      b = this.#previous.get(key);
      if (b === undefined) b = { tokens: this.#burst, at: now };
      else this.#previous.delete(key);
      this.#current.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.#rate / 1000)) };
  }

  /** Takes a token for `key`, or throws 429 RATE_LIMITED (with the seconds to wait). */
  admit(key: string): void {
    const decision = this.take(key);
    if (!decision.allowed) throw new FlashError("RATE_LIMITED", "too many requests, slow down", { retry_after: decision.retryAfterSeconds });
  }

  #rotate(now: number): void {
    // two periods or more without a request: every bucket is full
    this.#previous = now >= this.#rotateAt + this.#periodMs ? new Map() : this.#current;
    this.#current = new Map();
    this.#rotateAt = now + this.#periodMs;
  }

  /** Buckets held. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
