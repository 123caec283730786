/**
 * The scripts that start servers for `npm run cluster` and the fault suite stop what
 * they started, even when a failed run deleted its directory under it.
 */
import { jest } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_PORT_BASE } from "../support/env.ts";

jest.setTimeout(120_000);

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BASE = TEST_PORT_BASE + 80;
const PORTS = [0, 1, 2, 3, 4, 5].map((i) => BASE + i);

function redisCluster(cmd: string, dir: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("bash", [join(ROOT, "scripts/redis-cluster.sh"), cmd, String(BASE), dir], { env: { ...process.env, REDIS_REPLICAS: "1" }, timeout: 90_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`redis-cluster.sh ${cmd}: ${stderr || err.message}`)) : resolve(stdout + stderr))));
}

/** Running: it exists and is not a zombie (an exited daemon waits for init to reap it). */
const alive = (pid: number) => {
  try {
    return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
};

let pids: number[] = [];
const dir = mkdtempSync(join(tmpdir(), "flash-redis-script-"));
afterAll(async () => {
  // whatever the test could not stop: a start that failed half way, or a stop that did not
  await redisCluster("stop", dir).catch(() => undefined);
  for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("redis-cluster.sh stop stops its servers even after their directory was deleted under them", async () => {
  await redisCluster("start", dir);
  pids = PORTS.map((p) => Number(readFileSync(join(dir, String(p), "redis.pid"), "utf8")));
  expect(pids.filter(alive)).toHaveLength(6);

  rmSync(dir, { recursive: true, force: true }); // a failed run's clean-up got there first
  await redisCluster("stop", dir);
  expect(pids.filter(alive)).toEqual([]);
});

test("every name of a cluster derives from its CLUSTER_PORT_BASE: two bases share no directory, stream prefix or database", async () => {
  const names = async (base: number) => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile("bash", [join(ROOT, "scripts/cluster.sh"), "names"], { env: { ...process.env, CLUSTER_PORT_BASE: String(base) } },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))));
    return Object.fromEntries(out.trim().split("\n").slice(0, 3).map((l) => l.split("=") as [string, string]));
  };
  const [a, b] = await Promise.all([names(17200), names(18300)]);
  expect(Object.keys(a)).toEqual(["CLUSTER_DIR", "STREAM_PREFIX", "DATABASE"]);
  for (const k of Object.keys(a)) expect(a[k]).not.toBe(b[k]);
  expect(b).toEqual({ CLUSTER_DIR: join(ROOT, ".data/cluster-18300"), STREAM_PREFIX: "C18300", DATABASE: "flash_c18300" });
});
