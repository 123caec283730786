import { mapLimit } from "../../src/lib/concurrency.ts";

test("mapLimit keeps the order of its items and never has more than `limit` calls in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const run = mapLimit([5, 4, 3, 2, 1, 0], 2, async (n, i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((resolve) => gates.push(resolve));
    inFlight--;
    return `${i}:${n * 10}`;
  });
  // release the calls one at a time, newest first, as they arrive
  while (gates.length > 0 || inFlight > 0) {
    await Promise.resolve();
    gates.pop()?.();
    await new Promise((r) => setImmediate(r));
  }
  expect(await run).toEqual(["0:50", "1:40", "2:30", "3:20", "4:10", "5:0"]);
  expect(most).toBe(2);
});

test("mapLimit of nothing is nothing, and a failing call fails the whole", async () => {
  expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  await expect(mapLimit([1, 2, 3], 2, async (n) => { if (n === 2) throw new Error("two"); return n; })).rejects.toThrow("two");
});
