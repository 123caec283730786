import { jest } from "@jest/globals";
import { Coalescer } from "../../src/lib/coalescer.ts";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test("a quiet key is flushed at once; a burst of touches costs one more flush at the end of the interval, never one per touch", async () => {
  const flushed: Array<[string, number]> = [];
  const c = new Coalescer<string>(100, (k) => void flushed.push([k, Date.now()]));
  const start = Date.now();
  c.touch("a");
  await jest.advanceTimersByTimeAsync(0);
  expect(flushed).toEqual([["a", start]]);
  for (let i = 0; i < 50; i++) {
    c.touch("a");
    await jest.advanceTimersByTimeAsync(5); // 250 ms of touches
  }
  await jest.advanceTimersByTimeAsync(500);
  // at most one flush per 100 ms, and one after the last touch
  expect(flushed.length).toBeLessThanOrEqual(1 + Math.ceil(250 / 100) + 1);
  expect(flushed.length).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < flushed.length; i++) expect(flushed[i][1] - flushed[i - 1][1]).toBeGreaterThanOrEqual(100);
  expect(flushed.at(-1)![1]).toBeGreaterThanOrEqual(start + 250);
  expect(c.size).toBe(0);
});

test("keys are independent", async () => {
  const flushed: string[] = [];
  const c = new Coalescer<string>(100, (k) => void flushed.push(k));
  c.touch("a");
  c.touch("b");
  c.touch("a");
  await jest.advanceTimersByTimeAsync(250);
  expect(flushed.sort()).toEqual(["a", "a", "b"]);
});

test("flushes of one key never overlap: a slow flush delays the next, touches meanwhile fold into one", async () => {
  let running = 0;
  let most = 0;
  let count = 0;
  const c = new Coalescer<number>(10, async () => {
    running++;
    most = Math.max(most, running);
    count++;
    await new Promise((r) => setTimeout(r, 200));
    running--;
  });
  c.touch(1);
  for (let i = 0; i < 15; i++) {
    await jest.advanceTimersByTimeAsync(10); // touches during the first, 200 ms long flush
    c.touch(1);
  }
  await jest.advanceTimersByTimeAsync(1000);
  expect(most).toBe(1);
  expect(count).toBe(2);
});

test("a failing flush does not stop later ones", async () => {
  let calls = 0;
  const c = new Coalescer<number>(10, async () => {
    calls++;
    throw new Error("down");
  });
  c.touch(1);
  await jest.advanceTimersByTimeAsync(20);
  c.touch(1);
  await jest.advanceTimersByTimeAsync(20);
  expect(calls).toBe(2);
});
