/**
 * CPU time of processes, from /proc/<pid>/stat (utime + stime), so a run can say
 * how much CPU the service, Redis and the load generator itself used on this
 * small machine. Returns 0 where /proc is not there.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const TICKS = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** The pids of the benchmark's Redis Cluster nodes, from scripts/redis-cluster.sh's pidfiles. */
export function redisPids(root: string, basePort: number): number[] {
  const dir = join(root, ".data", `redis-cluster-${basePort}`);
  const pids: number[] = [];
  try {
    for (const d of readdirSync(dir)) {
      try {
        const pid = Number(readFileSync(join(dir, d, "redis.pid"), "utf8").trim());
        if (Number.isInteger(pid) && pid > 0) pids.push(pid);
      } catch {
        // not a node directory
      }
    }
  } catch {
    // no cluster directory
  }
  return pids;
}

export function sumCpu(pids: Array<number | undefined>): number {
  return pids.reduce<number>((a, p) => a + cpuSeconds(p), 0);
}

/** The pids of processes whose command name is `comm` (e.g. the machine's nats-server): read-only look-up in /proc. */
export function pidsByComm(comm: string): number[] {
  const out: number[] = [];
  try {
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === comm) out.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** CPU seconds per pid, to diff two snapshots of a changing set of processes. */
export function cpuMap(pids: number[]): Map<number, number> {
  return new Map(pids.map((p) => [p, cpuSeconds(p)]));
}

/** CPU used between two snapshots; a pid only in `after` counts from zero (it started meanwhile). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += Math.max(0, t - (before.get(pid) ?? 0));
  return sum;
}

/** The whole machine's CPU seconds so far (/proc/stat, all cores): busy (not idle, not iowait) and stolen by the hypervisor. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { busy: (user + nice + system + irq + softirq) / TICKS, steal: (steal ?? 0) / TICKS };
  } catch {
    return { busy: 0, steal: 0 };
  }
}
