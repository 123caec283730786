/**
 * What the parts of one benchmark run share: the repository's paths, the run's name and
 * log directory, the secrets and Node flags its service nodes start with, the sizes and
 * the load generator of the run, and its progress log (stderr, one line per step).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Generator } from "./drive.ts";
import type { NodeSecrets } from "./nodes.ts";
import type { Sizes } from "./types.ts";

/** the repository */
export const ROOT = join(import.meta.dirname, "..", "..");
/** bench/ */
export const BENCH_DIR = join(import.meta.dirname, "..");
/** what every service node runs (SERVICES says which services) */
export const RUN_SCRIPT = join(ROOT, "scripts", "run.ts");

export interface BenchContext {
  /** a few hex digits naming the run in stream prefixes and buyers' ids */
  runId: string;
  /** the children's logs (and CPU profiles) */
  logDir: string;
  secrets: NodeSecrets;
  /** the Node flags of every service node (serviceNodeArgs) */
  nodeArgs: string[];
  sizes: Sizes;
  idempotencyKeys: boolean;
  /** what drives the loads; chosen once by the bare ceilings (chooseGenerator) */
  generator: Generator;
  log: (msg: string) => void;
}

/** `2026-12-06T03-02-26Z`: a run's start as it names the run's files and log directory. */
export const fileStamp = (d: Date): string => d.toISOString().replace(/[:.]/g, "-").replace(/-\d{3}Z$/, "Z");

/** A progress log on stderr: `[label mm:ss] msg`, the time since the log was made. */
export function stepLog(label: string): (msg: string) => void {
  const t0 = performance.now();
  return (msg) => {
    const s = Math.floor((performance.now() - t0) / 1000);
    const mmss = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
    process.stderr.write(`[${label} ${mmss}] ${msg}\n`);
  };
}

/**
 * The commit measured, and whether the work tree differed from it (the report and the
 * history do not count: a run writes them). Read at the start: files edited while the run
 * goes on were not measured.
 */
export function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md", ":!bench/results") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}
