/**
 * A short seeded chaos run (test/chaos/run.ts, the same as `npm run chaos`): a cluster of
 * the test's own (ports FLASH_TEST_PORT_BASE+200..+250), buyers through HAProxy and a
 * nemesis whose faults come from the seed (kill -9, SIGSTOP past the timeouts, NATS
 * restart, PostgreSQL stop, Redis master kill, a rolling restart, a partition of a Redis
 * master from its replicas and the other masters), the cluster's supervisor on. The
 * checker reads the history and the final database: any anomaly fails the test, which
 * prints the report (the seed and the smallest window around the first anomaly).
 * Longer runs: docs/chaos.md. FLASH_CHAOS_SEED replays another seed.
 */
import { jest } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { formatReport, runChaos } from "../chaos/run.ts";
import { TEST_PORT_BASE } from "../support/env.ts";

jest.setTimeout(900_000);

const SEED = Number(process.env.FLASH_CHAOS_SEED ?? 21);

test("a seeded run of buyers and faults of every kind leaves a history without an anomaly", async () => {
  const report = await runChaos({
    seed: SEED,
    minutes: 1.5,
    base: TEST_PORT_BASE + 200,
    port: TEST_PORT_BASE + 250,
    outDir: fileURLToPath(new URL("../../.data/chaos", import.meta.url)),
    workers: 6,
    faults: 7, // one of each kind: the suite's time allows no more
    log: () => undefined,
  });
  console.log(formatReport(report));
  expect(report.faults.total).toBe(7);
  expect(report.faults.list.filter((f) => f.error)).toEqual([]);
  expect(Object.values(report.faults.by_kind).every((n) => n === 1)).toBe(true);
  expect(report.ops.by_kind.order.ok).toBeGreaterThan(0);
  expect(report.anomalies).toEqual([]);
});
