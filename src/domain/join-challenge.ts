/**
 * The proof of work that joining a line may ask (API.md, "Fair access", rule 5): ALTCHA's
 * SHA-256 challenge (altcha-lib's v1 format, what ALTCHA's widget solves): find `number`
 * ≤ `maxnumber` whose hex SHA-256 of `salt + number` is `challenge`.
 *
 * Each challenge is bound to its product and expires within CHALLENGE_TTL_MS, both
 * carried in its salt (`?pid=…&expires=…`), which its HMAC signature covers: a solution
 * can't be moved to another product or outlive its expiry. That a solution is used once
 * is the caller's to enforce (`Verified.key`, remembered until `Verified.expiresAt`).
 * How much work is asked follows the line's pressure (`difficultyFor`).
 */
import { createChallenge, extractParams, verifySolution } from "altcha-lib/v1";

export const CHALLENGE_ALGORITHM = "SHA-256" as const;
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** a base64 payload of the five fields, with a generous salt, stays far below this */
const MAX_PAYLOAD_CHARS = 2048;

export interface Challenge {
  algorithm: string;
  challenge: string;
  salt: string;
  signature: string;
  maxnumber: number;
}

export interface Verified {
  /** what makes the solution single-use: remember it (SET NX) until expiresAt */
  key: string;
  expiresAt: number;
}

export class ChallengeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChallengeRefused";
  }
}

export class JoinChallenges {
  readonly #hmacKey: string;

  /** `hmacKey`: CHALLENGE_SECRET, at least 32 bytes. */
  constructor(hmacKey: string) {
    if (Buffer.byteLength(hmacKey) < 32) throw new RangeError("a challenge secret is at least 32 bytes");
    this.#hmacKey = hmacKey;
  }

  async create(productId: number, maxnumber: number, now = Date.now()): Promise<Challenge> {
    const c = await createChallenge({
      algorithm: CHALLENGE_ALGORITHM, hmacKey: this.#hmacKey, maxnumber,
      expires: new Date(now + CHALLENGE_TTL_MS), params: { pid: String(productId) },
    });
    return { algorithm: c.algorithm, challenge: c.challenge, salt: c.salt, signature: c.signature, maxnumber };
  }

  /** The join's `challenge` field (ALTCHA's base64 JSON payload), for `productId` at `now`. */
  async verify(payload: string, productId: number, now = Date.now()): Promise<Verified> {
    if (typeof payload !== "string" || payload.length === 0) throw new ChallengeRefused("a solved challenge is required to join this line");
    if (payload.length > MAX_PAYLOAD_CHARS) throw new ChallengeRefused("the challenge solution is too large");
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
    } catch {
      throw new ChallengeRefused("the challenge solution is not base64 JSON");
    }
    const { algorithm, challenge, number, salt, signature } = fields ?? {};
    if (algorithm !== CHALLENGE_ALGORITHM || typeof challenge !== "string" || typeof salt !== "string" ||
      typeof signature !== "string" || !Number.isSafeInteger(number) || (number as number) < 0) {
      throw new ChallengeRefused("the challenge solution is malformed");
    }
    const solution = { algorithm: CHALLENGE_ALGORITHM, challenge, number: number as number, salt, signature } as const;
    // the signature and the hash first: only then are the salt's parameters ours
    if (!(await verifySolution(solution, this.#hmacKey, false))) throw new ChallengeRefused("the challenge solution is wrong");
    const params = extractParams(solution);
    if (params.pid !== String(productId)) throw new ChallengeRefused("the challenge is for another product");
    const expiresAt = Number(params.expires) * 1000;
    if (!Number.isFinite(expiresAt) || expiresAt <= now) throw new ChallengeRefused("the challenge has expired");
    return { key: signature, expiresAt };
  }
}

export interface DifficultySettings {
  /** the work asked of a calm line (about this many hashes at most) */
  base: number;
  /** never more than this (a phone must still join within seconds) */
  max: number;
  /** joins per second under which a line counts as calm whatever its outflow */
  calmJoinsPerSecond: number;
}

export const DIFFICULTY: DifficultySettings = { base: 50_000, max: 2_000_000, calmJoinsPerSecond: 5 };

/**
 * The `maxnumber` to ask for a product's next challenge: `base` while joins arrive no
 * faster than the line moves (`admitsPerSecond`), rising in proportion as they arrive
 * faster, up to `max`, and back down as soon as the join rate falls.
 */
export function difficultyFor(joinsPerSecond: number, admitsPerSecond: number, s: DifficultySettings = DIFFICULTY): number {
  if (!(joinsPerSecond > s.calmJoinsPerSecond)) return s.base;
  const pressure = joinsPerSecond / Math.max(admitsPerSecond, s.calmJoinsPerSecond);
  return Math.round(Math.min(s.max, s.base * Math.max(1, pressure)));
}
