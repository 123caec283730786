/**
 * CPU quotas for the scale-out experiment: each service node in a cgroup (v1, the `cpu`
 * controller) of its own, capped at the same share of one core, so that adding a node
 * adds exactly that much CPU. Needs root and /sys/fs/cgroup/cpu. Every group this makes
 * is named flash-bench-<run>-<node> and removed again (its processes moved back to the
 * root group first), also when the run fails.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup/cpu";
/** CFS bandwidth period: the quota is enforced per period (Linux default 100 ms); see setCpuPeriod */
let periodUs = 100_000;
const made = new Set<string>();

/** The enforcement period of the groups made from now on (ms, 1–1000). */
export function setCpuPeriod(ms: number): void {
  if (!(ms >= 1 && ms <= 1000)) throw new Error(`cfs period must be 1–1000 ms, got ${ms}`);
  periodUs = Math.round(ms * 1000);
}

export function cpuCapsAvailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (cgroup v1 cpu.cfs_quota_us)";
  if (!existsSync(join(ROOT, "cgroup.procs")) || !existsSync(join(ROOT, "cpu.cfs_quota_us"))) return `no cgroup v1 cpu controller at ${ROOT}`;
  return null;
}

/**
 * Puts `pid` (all its threads) in a new group capped at `cores` (e.g. 0.25), or not capped
 * yet (null: see setCpuCap). Returns the group's directory.
 */
export function capCpu(name: string, pid: number, cores: number | null): string {
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  made.add(dir);
  writeFileSync(join(dir, "cpu.cfs_period_us"), String(periodUs));
  setCpuCap(dir, cores);
  writeFileSync(join(dir, "cgroup.procs"), String(pid));
  return dir;
}

/** Caps the group at `cores` from now on; null lifts the cap (quota -1). */
export function setCpuCap(dir: string, cores: number | null): void {
  writeFileSync(join(dir, "cpu.cfs_quota_us"), cores === null ? "-1" : String(Math.round(cores * periodUs)));
}

/** How often the group's processes were held back by the quota, and for how long (cpu.stat). */
export function throttled(dir: string): { periods: number; throttled_periods: number; throttled_s: number } {
  const stat = Object.fromEntries(readFileSync(join(dir, "cpu.stat"), "utf8").trim().split("\n").map((l) => l.split(" ")));
  return { periods: Number(stat.nr_periods), throttled_periods: Number(stat.nr_throttled), throttled_s: Number(stat.throttled_time) / 1e9 };
}

/** Removes every group this process made (moving any process still inside back to the root group). */
export function removeCpuCaps(): void {
  for (const dir of made) {
    try {
      const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
      for (const pid of pids) writeFileSync(join(ROOT, "cgroup.procs"), pid);
      rmdirSync(dir);
      made.delete(dir);
    } catch {
      // already gone, or still busy: the next call tries again
    }
  }
}
