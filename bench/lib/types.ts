import type { DropPhases, Stats } from "./load.ts";
import type { MachineInfo } from "./infra.ts";

export const SCENARIOS = ["seed", "drop", "winners", "many", "drain"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const TARGETS = ["bare", "redis-1p", "redis-nats", "pg-lock"] as const;
export type TargetName = (typeof TARGETS)[number];

export const TARGET_DESCRIPTIONS: Record<TargetName, string> = {
  bare: "bare Node `http` server answering 202 (bench/bare-server.ts): the ceiling",
  "redis-1p": "the design, every service in one process (TRANSPORTER=none, INVENTORY_MODE=redis)",
  "redis-nats":
    "the design as a cluster over NATS: a gateway node + an inventory,orders,payments,sweeper node (TRANSPORTER=nats); in the drain scenario gateway,inventory,payments,sweeper + a later orders node",
  "pg-lock": "the naive baseline, one process (INVENTORY_MODE=pg-lock: SELECT … FOR UPDATE per order)",
};

export interface Sizes {
  seed: { requests: number; connections: number; qty: number; stock: number };
  drop: { buyers: number; units: number; connections: number };
  /** one product with more units than buyers: every request wins (the cost of a winner) */
  winners: { units: number; buyers: number; connections: number };
  many: { products: number; stock: number; requests: number; connections: number };
  drain: { units: number; connections: number };
  warmup: { requests: number; stock: number; connections: number };
  per_user_limit: number;
  max_per_order: number;
  max_load_seconds: number;
  drain_timeout_seconds: number;
}

export interface Checks {
  audit_ok: boolean;
  drained: boolean;
  drained_after_load_s: number | null;
  audit_s: number;
  in_flight: number;
  dead_letters: number;
  oversold: number[];
  inconsistent: Array<{ id: number; drift: number; failures?: Array<{ invariant: string; by: number }> }>;
  products: number;
  stock_units: number;
  accepted_units: number;
  db_units: number;
  stock_available_after?: Array<number | null>;
}

export interface DrainResult {
  units: number;
  in_flight_before: number;
  orders_node_startup_s: number | null;
  drain_s: number | null;
  orders_per_s: number | null;
  orders_per_s_incl_startup: number | null;
  timeline: Array<[number, number]>; // [seconds since the orders node was spawned, orders in the DB]
}

export interface RunRecord {
  scenario: ScenarioName;
  target: TargetName;
  /** the drain scenario runs with orders of one product and of many */
  variant?: string;
  status: "ok" | "failed" | "n/a";
  reason?: string;
  started_at: string;
  elapsed_s: number;
  stream_prefix?: string;
  load?: {
    /** which load generator drove it (bench/lib/drive.ts) */
    generator?: "autocannon" | "wrk";
    requested: number;
    completed: number;
    connections: number;
    qty: number;
    errors: number;
    timeouts: number;
    stopped_by_time: boolean;
    all: Stats;
    phases?: DropPhases | null;
  };
  /** CPU seconds used during the measured load (from /proc); wall = the load's duration */
  cpu_s?: { service: number; redis: number; postgres: number; nats: number; load_generator: number; wall: number };
  loadavg_after?: number[];
  checks?: Checks;
  drain?: DrainResult;
}

export interface BenchResult {
  started_at: string;
  finished_at: string;
  duration_s: number;
  command: string;
  /** git commit of the code measured */
  code?: string;
  quick: boolean;
  scenarios: ScenarioName[];
  targets: TargetName[];
  sizes: Sizes;
  /** every order request carried its own Idempotency-Key (absent in runs before the option: they did) */
  idempotency_keys?: boolean;
  machine: MachineInfo;
  runs: RunRecord[];
  /** the bare ceiling as each load generator reached it, and the one chosen to drive the run */
  generators?: { chosen: "autocannon" | "wrk"; ceilings: Array<{ generator: "autocannon" | "wrk"; rps: number; generator_cpu_s: number; wall_s: number }> };
}
