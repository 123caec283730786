/**
 * What a measured load cost, besides its answers: the CPU of each group of processes
 * (the target's, our Redis nodes, the PostgreSQL backends of the benchmark database, the
 * machine's nats-server, the load generator), the Redis commands per answer, and the
 * inventory's micro-batches.
 */
import { benchDbBackendPids, redisCommandCalls, redisNodes } from "./infra.ts";
import { cpuDelta, cpuMap, pidsByComm, redisPids } from "./cpu.ts";
import { ROOT } from "./context.ts";
import type { Child } from "./procs.ts";
import type { RunRecord } from "./types.ts";

type Log = (msg: string) => void;

export interface CpuSnap {
  svc: Map<number, number>;
  redis: Map<number, number>;
  pg: Map<number, number>;
  nats: Map<number, number>;
  lg: NodeJS.CpuUsage;
}

const redisBasePort = redisNodes()[0]?.port ?? 17201;

export async function cpuSnap(children: Child[]): Promise<CpuSnap> {
  return {
    svc: cpuMap(children.map((c) => c.proc.pid).filter((p): p is number => p !== undefined)),
    redis: cpuMap(redisPids(ROOT, redisBasePort)),
    pg: cpuMap(await benchDbBackendPids().catch(() => [])),
    nats: cpuMap(pidsByComm("nats-server")),
    lg: process.cpuUsage(),
  };
}

/** `generatorCpuS`: the CPU of a generator in a process of its own (wrk); otherwise this process's. */
export async function cpuSince(s0: CpuSnap, children: Child[], wallMs: number, generatorCpuS?: number): Promise<NonNullable<RunRecord["cpu_s"]>> {
  const s1 = await cpuSnap(children);
  const lg = process.cpuUsage(s0.lg);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    service: r1(cpuDelta(s0.svc, s1.svc)),
    redis: r1(cpuDelta(s0.redis, s1.redis)),
    postgres: r1(cpuDelta(s0.pg, s1.pg)),
    nats: r1(cpuDelta(s0.nats, s1.nats)),
    load_generator: r1(generatorCpuS ?? (lg.user + lg.system) / 1e6),
    wall: r1(wallMs / 1000),
  };
}

/** The CPU of a load, per answered request: where a path's cost sits between the processes. */
export function logCpu(log: Log, what: string, cpu: NonNullable<RunRecord["cpu_s"]>, answers: number): void {
  const us = (s: number) => Math.round((s * 1e6) / Math.max(1, answers));
  log(`  ${what}: CPU µs per answer: service ${us(cpu.service)}, Redis ${us(cpu.redis)}, PostgreSQL ${us(cpu.postgres)}, nats-server ${us(cpu.nats)}, load generator ${us(cpu.load_generator)} (${cpu.wall} s wall)`);
}

/** The mean micro-batch (reservations per Redis script call) of the node behind `base`, when it runs the inventory. */
export async function logBatches(log: Log, what: string, base: string): Promise<void> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text()).catch(() => "");
  const total = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((s, m) => s + Number(m[1]), 0);
  const batches = total("flash_reserve_batches_total");
  if (batches > 0) log(`  ${what}: ${batches} reservation batches, ${(total("flash_reserve_batched_requests_total") / batches).toFixed(1)} requests per batch on average`);
}

/** Redis commands per answer since `before` (redisCommandCalls), the commonest first. */
export async function logRedisCommands(log: Log, what: string, before: Map<string, number>, answers: number): Promise<void> {
  const after = await redisCommandCalls();
  const per = [...after].map(([c, n]) => [c, (n - (before.get(c) ?? 0)) / Math.max(1, answers)] as const)
    .filter(([, x]) => x >= 0.005).sort((a, b) => b[1] - a[1]);
  log(`  ${what}: Redis commands per answer: ${per.map(([c, x]) => `${c} ${x.toFixed(2)}`).join(", ") || "none"}`);
}
