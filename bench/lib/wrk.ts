/**
 * The C load generator: Debian's `wrk` with bench/wrk/orders.lua (a distinct buyer per
 * request, bounded by a number of answers and by time). wrk runs in a process of its own
 * (one event-loop thread by default), so the generator's CPU is measured apart from the
 * harness: bash's `times` prints the CPU the wrk child used.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Stats } from "./load.ts";

const SCRIPT = join(import.meta.dirname, "..", "wrk", "orders.lua");

export interface WrkSpec {
  url: string; // base, e.g. http://127.0.0.1:18310
  amount: number;
  connections: number;
  threads?: number;
  maxSeconds: number;
  products: number[];
  qty: number;
  tag: string;
  idempotencyKeys: boolean;
}

export interface WrkRun {
  all: Stats;
  completed: number;
  errors: number;
  timeouts: number;
  stopped_by_time: boolean;
  /** CPU seconds of the wrk process (user + system) */
  generator_cpu_s: number;
}

interface WrkResult {
  requests: number;
  duration_us: number;
  status: Record<string, number>;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  latency_us: { p50: number; p95: number; p99: number; max: number; mean: number };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** `times` prints "0m0.010s 0m0.002s" for the shell, then the same for its children: the latter is wrk. */
function childCpu(timesOutput: string): number {
  const lines = timesOutput.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  let total = 0;
  for (const m of last.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

export async function runWrk(spec: WrkSpec): Promise<WrkRun> {
  const threads = spec.threads ?? 1;
  const connections = Math.max(threads, Math.min(spec.connections, spec.amount));
  const perThread = Math.ceil(spec.amount / threads);
  const args = [
    // SIGINT stops wrk (it reports, then exits); the shell ignores it to print `times`
    "-c", "trap '' INT; wrk \"$@\"; times", "wrk",
    `-t${threads}`, `-c${connections}`, `-d${spec.maxSeconds}s`, "--timeout", "10s", "-s", SCRIPT, `${spec.url}/api/orders`,
  ];
  const child = spawn("bash", args, {
    env: {
      ...process.env,
      WRK_TAG: spec.tag, WRK_PRODUCTS: spec.products.join(","), WRK_QTY: String(spec.qty),
      WRK_AMOUNT: String(perThread), WRK_KEYS: spec.idempotencyKeys ? "1" : "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  let threadsDone = 0;
  child.stdout.on("data", (d: Buffer) => {
    const text = d.toString();
    out += text;
    threadsDone += text.split("WRK_DONE").length - 1;
    if (threadsDone === threads && threadsDone > 0) {
      threadsDone = -Infinity;
      process.kill(-child.pid!, "SIGINT");
    }
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const line = out.split("\n").find((l) => l.startsWith("WRK_RESULT "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err.trim() || out.trim()}`);
  const r = JSON.parse(line.slice("WRK_RESULT ".length)) as WrkResult;
  // 200 and 404 answer the fill-ins sent after the last order (bench/wrk/orders.lua); no order of this load gets either
  delete r.status["200"];
  delete r.status["404"];
  const answered = Object.values(r.status).reduce((a, b) => a + b, 0);
  const durationS = r.duration_us / 1e6;
  const us = (x: number) => r2(x / 1000);
  return {
    all: {
      requests: answered,
      duration_s: r2(durationS),
      rps: Math.round(answered / durationS),
      latency_ms: { p50: us(r.latency_us.p50), p95: us(r.latency_us.p95), p99: us(r.latency_us.p99), max: us(r.latency_us.max), mean: us(r.latency_us.mean) },
      status: r.status,
    },
    completed: answered,
    errors: r.errors.connect + r.errors.read + r.errors.write,
    timeouts: r.errors.timeout,
    stopped_by_time: answered < spec.amount,
    generator_cpu_s: r2(childCpu(out + "\n" + err)),
  };
}
