/**
 * Rule 5 of API.md's "Fair access": with `challenge` on, a join needs a fresh, unused,
 * correct ALTCHA proof of work for that product; missing, wrong, reused, expired and
 * other-product solutions are 403 CHALLENGE_FAILED and change nothing; the work asked
 * rises under a join burst and falls back after it. Solved here with altcha-lib, as the
 * widget does.
 */
import { jest } from "@jest/globals";
import { solveChallenge } from "altcha-lib/v1";
import { useStack, type Stack } from "../support/stack.ts";
import { eventually } from "../support/eventually.ts";
import { expectEnvelope } from "../support/envelope.ts";
import { JoinChallenges, DIFFICULTY, type Challenge } from "../../src/domain/join-challenge.ts";
import type { LineView } from "../../src/domain/line-view.ts";

jest.setTimeout(90_000);

let stack: Stack;
useStack((s) => (stack = s), { RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000" });

const product = (fields: Record<string, unknown> = {}) =>
  stack.createProduct({ stock: 10, access: "queue", challenge: true, sale_starts_at: new Date(Date.now() + 3_600_000).toISOString(), ...fields });
const challengeOf = async (productId: number): Promise<Challenge> => {
  const r = await stack.http("GET", `/api/products/${productId}/queue/challenge`);
  expect(r.status).toBe(200);
  return r.body;
};
/** ALTCHA's payload for a solved challenge (what its widget submits); `number` overrides the solution. */
async function solved(c: Challenge, number?: number): Promise<string> {
  const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  expect(solution).not.toBeNull();
  return Buffer.from(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: number ?? solution!.number, salt: c.salt, signature: c.signature })).toString("base64");
}
const join = (productId: number, user: string, challenge?: string) =>
  stack.http("POST", `/api/products/${productId}/queue`, { user_id: user, ...(challenge === undefined ? {} : { challenge }) });
const joined = async (productId: number) => (await stack.http("GET", `/api/products/${productId}/queue`)).body as LineView;

test("a challenge is ALTCHA's SHA-256 proof of work, at the base difficulty while the line is calm", async () => {
  const p = await product();
  const c = await challengeOf(p.id);
  expect(c).toEqual({ algorithm: "SHA-256", challenge: expect.stringMatching(/^[0-9a-f]{64}$/), salt: expect.stringContaining(`pid=${p.id}`), signature: expect.stringMatching(/^[0-9a-f]{64}$/), maxnumber: DIFFICULTY.base });
});

test("a solved challenge joins once; missing, wrong, reused, expired and other-product solutions are 403 CHALLENGE_FAILED and change nothing", async () => {
  const p = await product();
  const other = await product();
  const good = await solved(await challengeOf(p.id));
  const c = await challengeOf(p.id);
  const wrong = await solved(c, (JSON.parse(Buffer.from(await solved(c), "base64").toString()).number + 1) % (c.maxnumber + 1));
  const elsewhere = await solved(await challengeOf(other.id));
  // a challenge signed with the service's key whose expiry has passed
  const stale = await new JoinChallenges(stack.config.challengeSecret).create(p.id, 1000, Date.now() - 6 * 60_000);
  const expired = await solved(stale);

  for (const [what, payload, message] of [
    ["missing", undefined, /required/],
    ["not base64 JSON", "%%%", /base64 JSON/],
    ["wrong", wrong, /wrong/],
    ["for another product", elsewhere, /another product/],
    ["expired", expired, /expired/],
  ] as const) {
    const r = await join(p.id, `refused-${what}`, payload);
    expectEnvelope(r, 403, "CHALLENGE_FAILED");
    expect([what, r.body.error.message]).toEqual([what, expect.stringMatching(message)]);
  }
  expect((await joined(p.id)).joined).toBe(0);

  expect((await join(p.id, "solver", good)).status).toBe(201);
  const reused = await join(p.id, "copycat", good);
  expectEnvelope(reused, 403, "CHALLENGE_FAILED");
  expect(reused.body.error.message).toMatch(/used already/);
  expect((await joined(p.id)).joined).toBe(1);
});

test("the work asked rises under a join burst and falls back when the line calms", async () => {
  const p = await product();
  // a burst of joins (straight to the line's owner: the burst is what it measures)
  await Promise.all(Array.from({ length: 60 }, (_, i) => stack.broker.call("inventory.lineJoin", { product_id: p.id, user_id: `burst-${i}` })));
  const hard = await challengeOf(p.id);
  expect(hard.maxnumber).toBeGreaterThan(DIFFICULTY.base);
  // joins stop: each idle second halves the measured rate, until the base again
  const calm = await eventually(async () => {
    const c = await challengeOf(p.id);
    return c.maxnumber === DIFFICULTY.base && c;
  }, 30_000, "the difficulty back at its base");
  expect(calm.maxnumber).toBe(DIFFICULTY.base);
});
