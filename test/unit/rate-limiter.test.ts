import { RateLimiter } from "../../services/gateway/rate-limiter.ts";

test("allows a burst, then refuses with a Retry-After until tokens refill", () => {
  let now = 0;
  const rl = new RateLimiter(2, 3, () => now);
  expect([1, 2, 3].map(() => rl.take("u").allowed)).toEqual([true, true, true]);
  const refused = rl.take("u");
  expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
  now += 500;
  expect(rl.take("u").allowed).toBe(true);
  expect(rl.take("u").allowed).toBe(false);
});

test("keys are independent: one buyer's burst does not limit another", () => {
  const rl = new RateLimiter(1, 1, () => 0);
  expect(rl.take("a").allowed).toBe(true);
  expect(rl.take("a").allowed).toBe(false);
  expect(rl.take("b").allowed).toBe(true);
});

test("a bucket untouched for a whole refill period is forgotten; one in use is carried on", () => {
  let now = 0;
  // an empty bucket refills in 2 s: the period
  const rl = new RateLimiter(1, 2, () => now);
  rl.take("a");
  rl.take("b");
  expect(rl.size).toBe(2);
  now = 2000; // a new period: both are carried in the older generation
  rl.take("b");
  expect(rl.size).toBe(2);
  now = 4000; // "a" untouched since 0 is dropped; "b", used at 2000, is still held
  rl.take("c");
  expect(rl.size).toBe(2);
  now = 8000; // two periods without a request: nothing is held but the new one
  rl.take("d");
  expect(rl.size).toBe(1);
});

test("forgetting never changes a decision: an emptied bucket survives until it has refilled", () => {
  let now = 0;
  const rl = new RateLimiter(1, 2, () => now);
  expect([rl.take("u").allowed, rl.take("u").allowed, rl.take("u").allowed]).toEqual([true, true, false]);
  now = 1999; // 1.999 tokens refilled: one taken, 0.999 left
  expect(rl.take("u").allowed).toBe(true);
  now = 2001; // a new period: the bucket comes along with its 1.001 tokens (a forgotten one would hold 2)
  expect(rl.take("u").allowed).toBe(true);
  expect(rl.take("u").allowed).toBe(false);
  now = 3999;
  expect(rl.take("u").allowed).toBe(true);
  expect(rl.take("u").allowed).toBe(false);
});

test("a refill shorter than a second still keeps buckets for a second", () => {
  let now = 0;
  const rl = new RateLimiter(1000, 1, () => now);
  expect(rl.take("u").allowed).toBe(true);
  expect(rl.take("u").allowed).toBe(false);
  now = 999;
  rl.take("v");
  expect(rl.size).toBe(2);
});
