/**
 * How the inventory runs a Redis operation: through a failover (a master dead, its
 * replica not yet promoted, a slot moved) it is retried with a short backoff until the
 * promotion or REDIS_FAILOVER_WAIT_MS, then answered 503. Every operation run this way
 * is idempotent, so a resend after a lost answer applies nothing twice.
 */
import { isRedisTransient, redisReplyCode, type RedisClient } from "../../src/lib/redis.ts";
import { UnavailableError } from "../../src/lib/errors.ts";

/** Redis replies that mean our command or script is wrong. */
const SCRIPT_FAULTS: ReadonlySet<string> = new Set(["ERR", "WRONGTYPE", "NOSCRIPT"]);

export type RunRedis = <T>(op: () => Promise<T>) => Promise<T>;

export function redisWithFailover(redis: RedisClient, waitMs: number): RunRedis {
  return async <T>(op: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (!isRedisTransient(err)) {
          // Redis refused the command or the script failed: a bug to surface, not an outage
          if (SCRIPT_FAULTS.has(redisReplyCode(err) ?? "")) throw err;
          throw new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1);
        }
        const delay = Math.min(50 * 2 ** attempt, 500);
        if (Date.now() + delay > deadline) {
          throw new UnavailableError(`inventory store unavailable: ${(err as Error).message}`, "redis", 1);
        }
        const cluster = redis as { refreshSlotsCache?: () => void };
        cluster.refreshSlotsCache?.();
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
}
