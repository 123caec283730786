import { createHash, randomBytes } from "node:crypto";
import { LineOrder, ALGORITHM } from "../../src/domain/line-order.ts";

const seedOf = (label: string) => createHash("sha256").update(label).digest();

test("every place from 1 to n is taken by exactly one early joiner, and joinAt undoes place", () => {
  for (const n of [1, 2, 3, 4, 5, 17, 100, 1000, 4097]) {
    const order = new LineOrder(seedOf(`bijection-${n}`), n);
    const seen = new Uint8Array(n + 1);
    for (let j = 0; j < n; j++) {
      const p = order.place(j);
      expect(p >= 1 && p <= n).toBe(true);
      expect(seen[p]).toBe(0);
      seen[p] = 1;
      expect(order.joinAt(p)).toBe(j);
    }
  }
});

test("the order depends on the seed, and the same seed gives the same order", () => {
  const n = 1000;
  const a = new LineOrder(seedOf("a"), n);
  const again = new LineOrder(seedOf("a"), n);
  const b = new LineOrder(seedOf("b"), n);
  const placesA = Array.from({ length: n }, (_, j) => a.place(j));
  expect(Array.from({ length: n }, (_, j) => again.place(j))).toEqual(placesA);
  const same = placesA.filter((p, j) => b.place(j) === p).length;
  expect(same).toBeLessThan(10); // two random permutations share ~1 fixed point
});

test("the early joiners' places do not follow their join order (rank correlation near 0 over 10,000 joiners)", () => {
  const n = 10_000;
  const order = new LineOrder(seedOf("spearman"), n);
  let sumD2 = 0;
  for (let j = 0; j < n; j++) sumD2 += (order.place(j) - 1 - j) ** 2;
  const rho = 1 - (6 * sumD2) / (n * (n * n - 1));
  // for a random permutation rho ~ N(0, 1/(n-1)): |rho| < 0.04 is 4 standard deviations
  expect(Math.abs(rho)).toBeLessThan(0.04);
});

test("over many seeds, the first joiner lands in each tenth of the line about equally often (chi-square)", () => {
  const n = 1000;
  const bins = new Array(10).fill(0);
  const draws = 2000;
  for (let i = 0; i < draws; i++) bins[Math.floor((new LineOrder(seedOf(`chi-${i}`), n).place(0) - 1) / (n / 10))]++;
  const expected = draws / 10;
  const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  expect(chi2).toBeLessThan(27.88); // 9 degrees of freedom, p = 0.001
});

test("a seed must be 32 bytes and the line's size a safe non-negative integer; places out of range are refused", () => {
  expect(() => new LineOrder(randomBytes(31), 10)).toThrow(RangeError);
  expect(() => new LineOrder(randomBytes(32), -1)).toThrow(RangeError);
  expect(() => new LineOrder(randomBytes(32), 1.5)).toThrow(RangeError);
  const order = new LineOrder(randomBytes(32), 10);
  expect(() => order.place(10)).toThrow(RangeError);
  expect(() => order.joinAt(0)).toThrow(RangeError);
  expect(new LineOrder(randomBytes(32), 0).size).toBe(0);
  expect(ALGORITHM).toBe("feistel8-hmac-sha256-cyclewalk");
});

test("a line of 2^40 early joiners is evaluated one place at a time, both ways", () => {
  const n = 2 ** 40;
  const order = new LineOrder(seedOf("huge"), n);
  for (const j of [0, 1, n - 1, 123_456_789_012]) {
    const p = order.place(j);
    expect(p >= 1 && p <= n).toBe(true);
    expect(order.joinAt(p)).toBe(j);
  }
});
