/**
 * The nemesis: a schedule of faults drawn from the seed (pure, so a seed names a run's
 * faults), and the executor that injects them into a running cluster, one at a time,
 * and records each (kind, target, start, end, how long the cluster took to be whole
 * again) in the history.
 */
import type { TestCluster } from "../support/cluster.ts";
import { FAULT_KINDS, type FaultKind, type History } from "./history.ts";
import type { Rng } from "./prng.ts";
import type { Partitioner } from "./partition.ts";

export interface PlannedFault {
  kind: FaultKind;
  /** earliest start, ms from the beginning of the run */
  at: number;
  /** how long the fault lasts (a pause, an outage, a partition); 0 for a kill */
  durationMs: number;
  /** a seeded number in [0, 1) that picks the target among those the cluster has then */
  pick: number;
}

export const SERVICE_NODES = ["gateway-1", "gateway-2", "inventory-1", "inventory-2", "orders-1", "orders-2", "ops-1", "ops-2"];
const ROLES = ["gateway", "inventory", "orders", "ops"];

/** The faults of a run of `minutes`: every kind once first (in a seeded order), then seeded kinds. */
export function schedule(rand: Rng, minutes: number, { warmupMs = 5000 } = {}): PlannedFault[] {
  const endMs = minutes * 60_000;
  const out: PlannedFault[] = [];
  let at = warmupMs;
  const kinds = rand.shuffle(FAULT_KINDS);
  while (at < endMs - 5000) {
    const kind = kinds.shift() ?? rand.pick(FAULT_KINDS);
    const durationMs = ({
      kill: 0,
      "redis-master-kill": 0,
      pause: rand.int(6000, 10_000), // past the request timeout (5 s) and the consumer's ack wait (3 s)
      "nats-restart": rand.int(2000, 5000),
      "pg-stop": rand.int(5000, 12_000),
      "rolling-restart": 0,
      partition: rand.int(5000, 9000), // past twice cluster-node-timeout (1.5 s): its replicas take over
    } as const)[kind];
    out.push({ kind, at, durationMs, pick: rand.next() });
    // an estimate of the fault and its recovery, and a quiet gap; the executor waits for the real end
    at += durationMs + rand.int(4000, 8000);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NemesisDeps {
  cluster: TestCluster;
  history: History;
  partitioner: Partitioner;
  /** the Redis master of the slot of the products' keys, as Redis says now: its port */
  hotMaster(): Promise<number>;
  log(line: string): void;
}

/** The cluster is whole: every process runs, and both gateways and HAProxy are ready. */
export async function whole(c: TestCluster): Promise<boolean> {
  const procs = await c.ps().catch(() => []);
  if (!procs.length || procs.some((p) => p.pid === null || p.role === "redis-down")) return false;
  const ready = async (port: number | null) => (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null))?.status === 200;
  const gateways = procs.filter((p) => p.role === "gateway");
  if (!(await Promise.all(gateways.map((g) => ready(g.port)))).every(Boolean)) return false;
  return (await fetch(`${c.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null))?.status === 200;
}

async function untilWhole(c: TestCluster, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await whole(c)) return Date.now() - started;
    await sleep(500);
  }
  return null;
}

/** The processes that SIGKILL may hit: every kind the cluster has (never the supervisor: it stands in for the human who is not there). */
async function killable(c: TestCluster): Promise<string[]> {
  return (await c.ps()).filter((p) => p.role !== "supervisor" && p.pid !== null).map((p) => p.name);
}

async function pausable(c: TestCluster): Promise<string[]> {
  return (await c.ps()).filter((p) => p.pid !== null && (SERVICE_NODES.includes(p.name) || p.name.startsWith("redis-") || p.name === "nats")).map((p) => p.name);
}

const choose = <T>(items: T[], pick: number) => items[Math.floor(pick * items.length)];

/**
 * Injects one fault; answers its target. Whatever it breaks it mends before it returns;
 * `mend` holds the repairs still due (run if the fault failed half-way: only then, as
 * `cluster.sh start` of a running process waits for its lock a minute).
 */
async function inject(f: PlannedFault, d: NemesisDeps, mend: Array<() => Promise<void>>): Promise<string> {
  const c = d.cluster;
  switch (f.kind) {
    case "kill": {
      const name = choose(await killable(c), f.pick);
      await c.signal(name, "SIGKILL"); // the cluster's supervisor starts it again
      return name;
    }
    case "redis-master-kill": {
      const name = `redis-${await d.hotMaster()}`;
      await c.signal(name, "SIGKILL");
      return name;
    }
    case "pause": {
      const name = choose(await pausable(c), f.pick);
      await c.signal(name, "SIGSTOP");
      const cont = () => c.signal(name, "SIGCONT").then(() => undefined, () => undefined);
      mend.push(cont);
      await sleep(f.durationMs);
      await cont();
      mend.pop();
      return name;
    }
    case "nats-restart":
    case "pg-stop": {
      const name = f.kind === "pg-stop" ? "postgres" : "nats";
      const t = Date.now();
      await c.stop(name);
      d.log(`nemesis: ${name} stopped in ${Date.now() - t} ms`);
      mend.push(() => c.start(name).catch(() => undefined));
      await sleep(f.durationMs);
      await c.start(name);
      mend.pop();
      return name;
    }
    case "rolling-restart": {
      const role = choose(ROLES, f.pick);
      for (const name of SERVICE_NODES.filter((n) => n.startsWith(role))) {
        const t = Date.now();
        mend.push(() => c.start(name).catch(() => undefined));
        await c.stop(name); // SIGTERM: unready, drain, exit
        await c.start(name);
        mend.pop();
        await untilWhole(c, 60_000);
        d.log(`nemesis: ${name} restarted in ${Date.now() - t} ms`);
      }
      return `${role}-1, ${role}-2`;
    }
    case "partition": {
      const port = await d.hotMaster();
      await d.partitioner.isolate(port);
      mend.push(() => d.partitioner.heal());
      await sleep(f.durationMs);
      // the cut-off node still calls itself master: a fourth master means a replica took over
      const masters = (await c.ps()).filter((p) => p.role === "redis-master").length;
      await d.partitioner.heal();
      mend.pop();
      return `redis-${port} (${masters > 3 ? "a replica took over" : "no failover"} during the partition)`;
    }
  }
}

/**
 * Runs the schedule against the cluster, each fault once the previous one is over and
 * the cluster whole again; none starts after `until` (ms since the run began) but the
 * first seven, one of each kind, always run (a slow machine runs them later, never
 * fewer). Always leaves nothing stopped, paused or cut off.
 */
export async function runNemesis(plan: PlannedFault[], d: NemesisDeps, until: number): Promise<void> {
  for (const [i, f] of plan.entries()) {
    while (d.history.now() < f.at) await sleep(200);
    if (i >= FAULT_KINDS.length && d.history.now() > until) return;
    const start = d.history.now();
    const mend: Array<() => Promise<void>> = [];
    let target = "?";
    let error: string | undefined;
    try {
      target = await inject(f, d, mend);
    } catch (err) {
      error = String(err).slice(0, 300);
    } finally {
      for (const m of mend.reverse()) await m();
    }
    const end = d.history.now();
    const recoveredAfterMs = await untilWhole(d.cluster, 120_000);
    d.history.add({ type: "fault", id: d.history.id(), kind: f.kind, target, start, end, recoveredAfterMs, ...(error ? { error } : {}) });
    d.log(`nemesis: ${f.kind} ${target} ${start}..${end} ms${error ? ` NOT INJECTED: ${error}` : ""}, whole again ${recoveredAfterMs === null ? "never (120 s)" : `after ${recoveredAfterMs} ms`}`);
  }
}
