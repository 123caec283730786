import { MicroBatcher } from "../../services/gateway/micro-batch.ts";

test("items of one key added in the same turn go to one run, each caller gets its own result", async () => {
  const runs: Array<[string, number[]]> = [];
  const b = new MicroBatcher<string, number, number>(async (key, items) => {
    runs.push([key, items]);
    return items.map((i) => i * 10);
  }, 64);
  const results = await Promise.all([b.add("p", 1), b.add("p", 2), b.add("q", 3), b.add("p", 4)]);
  expect(results).toEqual([10, 20, 30, 40]);
  expect(runs).toEqual([["p", [1, 2, 4]], ["q", [3]]]);
});

test("a full batch is run at once, the rest in the next one", async () => {
  const runs: number[][] = [];
  const b = new MicroBatcher<string, number, number>(async (_k, items) => (runs.push(items), items), 2);
  expect(await Promise.all([1, 2, 3].map((i) => b.add("p", i)))).toEqual([1, 2, 3]);
  expect(runs).toEqual([[1, 2], [3]]);
});

test("a failed run rejects every caller of that batch, and a short answer is a failure too", async () => {
  const b = new MicroBatcher<string, number, number>(async (_k, items) => {
    if (items.includes(0)) throw new Error("down");
    return items.slice(1);
  }, 64);
  await expect(Promise.all([b.add("p", 0), b.add("p", 1)])).rejects.toThrow("down");
  await expect(b.add("q", 5)).rejects.toThrow(/0 results for 1 items/);
});
