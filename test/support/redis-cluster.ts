/**
 * The test suite's own Redis Cluster (three masters on basePort..basePort+2), run by
 * scripts/redis-cluster.sh: `start` is idempotent, `stop` only stops nodes the script
 * started itself.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/redis-cluster.sh", import.meta.url));

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile("bash", [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim() || String(stdout).trim() || err.message;
        reject(new Error(`scripts/redis-cluster.sh ${args.join(" ")} failed: ${detail}`, { cause: err }));
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      }
    });
  });
}

function nodesFor(basePort: number): string[] {
  return [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`);
}

/** Starts (or reuses) the cluster and resolves to its nodes as "host:port". */
export async function startRedisCluster(basePort: number): Promise<string[]> {
  const { stdout } = await run(["start", String(basePort)], 90_000);
  const reported = /^REDIS_NODES=(.+)$/m.exec(stdout)?.[1]?.trim();
  const nodes = nodesFor(basePort);
  if (reported !== nodes.join(",")) {
    throw new Error(`scripts/redis-cluster.sh start ${basePort} reported ${JSON.stringify(reported)}, expected ${nodes.join(",")}`);
  }
  return nodes;
}

/** Stops the cluster's nodes that the script started (others on those ports are left alone). */
export async function stopRedisCluster(basePort: number): Promise<void> {
  await run(["stop", String(basePort)], 60_000);
}
