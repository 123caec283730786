import { createHash } from "node:crypto";
import { refusalOf } from "../support/refusal.ts";
import { JoinChallenges, ChallengeRefused, difficultyFor, DIFFICULTY, CHALLENGE_TTL_MS, type Challenge } from "../../src/domain/join-challenge.ts";

const challenges = new JoinChallenges("challenge-secret-of-at-least-32-bytes!!");
const now = 1_800_000_000_000;

/** What ALTCHA's widget does: the number whose SHA-256 of salt + number is the challenge, as its base64 payload. */
function solve(c: Challenge, tamper: Partial<Record<"number" | "salt" | "signature", unknown>> = {}): string {
  let n = 0;
  while (createHash("sha256").update(c.salt + n).digest("hex") !== c.challenge) n++;
  const payload = { algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature, ...tamper };
  return Buffer.from(JSON.stringify(payload)).toString("base64");
}

const refusal = (payload: string, productId = 7, at = now) => refusalOf(challenges.verify(payload, productId, at), ChallengeRefused);

test("a solved challenge verifies for its product until it expires, and names the key that makes it single-use", async () => {
  const c = await challenges.create(7, 2000, now);
  expect(c).toMatchObject({ algorithm: "SHA-256", maxnumber: 2000 });
  const payload = solve(c);
  expect(await challenges.verify(payload, 7, now)).toEqual({ key: c.signature, expiresAt: now + CHALLENGE_TTL_MS });
  expect(await refusal(payload, 7, now + CHALLENGE_TTL_MS)).toBe("the challenge has expired");
});

test("a wrong number, a changed salt (another product or expiry), a forged signature or another product's challenge is refused", async () => {
  const c = await challenges.create(7, 2000, now);
  const payload = JSON.parse(Buffer.from(solve(c), "base64").toString());
  expect(await refusal(solve(c, { number: payload.number + 1 }))).toBe("the challenge solution is wrong");
  expect(await refusal(solve(c, { salt: c.salt.replace("pid=7", "pid=8") }), 8)).toBe("the challenge solution is wrong");
  expect(await refusal(solve(c, { signature: "0".repeat(64) }))).toBe("the challenge solution is wrong");
  expect(await refusal(solve(c), 8)).toBe("the challenge is for another product");
  const forged = await new JoinChallenges("another-secret-of-at-least-32-bytes!!!").create(7, 2000, now);
  expect(await refusal(solve(forged))).toBe("the challenge solution is wrong");
});

test("a missing, oversized, non-base64-JSON or malformed solution is refused", async () => {
  expect(await refusal("")).toBe("a solved challenge is required to join this line");
  expect(await refusal("A".repeat(5000))).toBe("the challenge solution is too large");
  expect(await refusal("%%%not-base64%%%")).toBe("the challenge solution is not base64 JSON");
  const c = await challenges.create(7, 10, now);
  expect(await refusal(solve(c, { number: "3" }))).toBe("the challenge solution is malformed");
  expect(await refusal(solve(c, { number: -1 }))).toBe("the challenge solution is malformed");
  expect(await refusal(Buffer.from(JSON.stringify({ ...c, algorithm: "SHA-1", number: 1 })).toString("base64"))).toBe("the challenge solution is malformed");
  expect(await refusal(Buffer.from("null").toString("base64"))).toBe("the challenge solution is malformed");
});

test("the work asked rises while joins arrive faster than the line moves, up to a cap, and falls back when they slow", () => {
  expect(difficultyFor(0, 10)).toBe(DIFFICULTY.base);
  expect(difficultyFor(10, 10)).toBe(DIFFICULTY.base);
  expect(difficultyFor(100, 10)).toBe(DIFFICULTY.base * 10);
  expect(difficultyFor(1_000_000, 10)).toBe(DIFFICULTY.max);
  expect(difficultyFor(4, 0)).toBe(DIFFICULTY.base); // calm, even with a paused line
  expect(difficultyFor(50, 0)).toBe(DIFFICULTY.base * 10); // a paused line counts as moving at the calm rate
});

test("a challenge secret shorter than 32 bytes is refused", () => {
  expect(() => new JoinChallenges("short")).toThrow(RangeError);
});
