import { RateLimiter } from "../../src/lib/rate-limiter.ts";

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

test("sweep forgets buckets that refilled, and only those", () => {
  let now = 0;
  const rl = new RateLimiter(1, 2, () => now);
  rl.take("a");
  now = 500;
  rl.take("b");
  now = 1100;
  rl.sweep();
  expect(rl.size).toBe(1);
  now = 2000;
  rl.sweep();
  expect(rl.size).toBe(0);
});
