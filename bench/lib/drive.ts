/**
 * Drives order load with either generator and returns one shape: autocannon inside
 * the harness process (every answer sampled, so a drop splits into its phases) or wrk
 * in a process of its own (bench/lib/wrk.ts: aggregate numbers, more requests per CPU
 * second). Either way the generator's own CPU is reported.
 */
import { runLoad, stats, dropPhases, type DropPhases, type Stats } from "./load.ts";
import { runWrk } from "./wrk.ts";

export const GENERATORS = ["autocannon", "wrk"] as const;
export type Generator = (typeof GENERATORS)[number];

export interface DriveSpec {
  label: string;
  url: string;
  amount: number;
  connections: number;
  maxSeconds: number;
  qty: number;
  /** products ordered: one (the drop) or spread over many */
  products: number[];
  tag: string;
  phases: boolean;
  /** every request carries its own Idempotency-Key (the load has none: buyers that do not retry) */
  idempotencyKeys: boolean;
  progress?: (line: string) => void;
}

export interface Driven {
  generator: Generator;
  all: Stats;
  /** autocannon only: wrk does not time each answer */
  phases?: DropPhases | null;
  completed: number;
  accepted: number;
  errors: number;
  timeouts: number;
  stopped_by_time: boolean;
  duration_ms: number;
  generator_cpu_s: number;
}

export async function drive(generator: Generator, spec: DriveSpec): Promise<Driven> {
  const connections = Math.min(spec.connections, spec.amount);
  if (generator === "wrk") {
    const r = await runWrk({
      url: spec.url, amount: spec.amount, connections, maxSeconds: spec.maxSeconds,
      products: spec.products, qty: spec.qty, tag: spec.tag, idempotencyKeys: spec.idempotencyKeys,
    });
    return { generator, ...r, accepted: r.all.status["202"] ?? 0, duration_ms: r.all.duration_s * 1000 };
  }
  const cpu0 = process.cpuUsage();
  const pick = spec.products.length === 1 ? () => spec.products[0] : () => spec.products[Math.floor(Math.random() * spec.products.length)];
  const run = await runLoad({
    label: spec.label,
    url: spec.url,
    path: "/api/orders",
    amount: spec.amount,
    connections,
    maxSeconds: spec.maxSeconds,
    next: (i) => ({
      body: JSON.stringify({ product_id: pick(), qty: spec.qty, user_id: `${spec.tag}-u${i}` }),
      headers: (spec.idempotencyKeys ? { "idempotency-key": `${spec.tag}-k${i}` } : {}) as Record<string, string>,
    }),
    progress: spec.progress,
  });
  const cpu = process.cpuUsage(cpu0);
  let accepted = 0;
  for (let k = 0; k < run.samples.n; k++) if (run.samples.status[k] === 202) accepted++;
  return {
    generator,
    all: stats(run.samples, -Infinity, Infinity, run.duration_ms),
    phases: spec.phases ? dropPhases(run.samples, run.duration_ms) : undefined,
    completed: run.samples.n,
    accepted,
    errors: run.errors,
    timeouts: run.timeouts,
    stopped_by_time: run.stopped_by_time,
    duration_ms: run.duration_ms,
    generator_cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
  };
}
