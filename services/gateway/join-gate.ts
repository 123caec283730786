/**
 * The proof of work a line may ask before a join (API.md, "Fair access", rule 5), at the
 * gateway: challenges issued with the difficulty the line's pressure calls for (the join
 * rate its owner measures, against the pace it admits at), solutions checked here
 * (src/domain/join-challenge.ts) and each one used once, remembered in Redis until its
 * challenge expires, so every gateway of the deployment refuses it the second time.
 */
import type { RedisClient } from "../../src/lib/redis.ts";
import { deploymentKeys, type DeploymentKeys } from "../../src/lib/keys.ts";
import { FlashError, UnavailableError } from "../../src/lib/errors.ts";
import { ChallengeRefused, difficultyFor, JoinChallenges, type Challenge } from "../../src/domain/join-challenge.ts";
import type { LineStats } from "../../src/contracts/line.ts";

export class JoinGate {
  readonly #challenges: JoinChallenges;
  readonly #keys: DeploymentKeys;
  #redis: RedisClient | null = null;

  constructor(secret: string, namespace: string) {
    this.#challenges = new JoinChallenges(secret);
    this.#keys = deploymentKeys(namespace);
  }

  /** Where used solutions are remembered (null: none, and no challenge can be checked). */
  useRedis(redis: RedisClient | null): void {
    this.#redis = redis;
  }

  /** A challenge for the product's next join, as hard as its line's pressure asks. */
  issue(productId: number, line: Pick<LineStats, "joins_per_second" | "admitted_per_second">): Promise<Challenge> {
    return this.#challenges.create(productId, difficultyFor(line.joins_per_second, line.admitted_per_second ?? 0));
  }

  /** Resolves when `payload` is a fresh, correct solution for the product, never used before; else 403 CHALLENGE_FAILED. */
  async check(payload: string | undefined, productId: number): Promise<void> {
    let verified;
    try {
      verified = await this.#challenges.verify(payload ?? "", productId);
    } catch (err) {
      if (err instanceof ChallengeRefused) throw new FlashError("CHALLENGE_FAILED", err.message);
      throw err;
    }
    const redis = this.#redis;
    if (!redis) throw new UnavailableError("this gateway has no Redis to remember used challenge solutions", "redis", 1);
    const first = await redis.set(this.#keys.challengeUsed(verified.key), "1", "PXAT", verified.expiresAt, "NX")
      .catch((err: Error) => { throw new UnavailableError(`challenge store unavailable: ${err.message}`, "redis", 1); });
    if (first === null) throw new FlashError("CHALLENGE_FAILED", "this challenge solution was used already: ask a new challenge");
  }
}
