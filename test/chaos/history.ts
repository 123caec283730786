/**
 * The history of a chaos run, as Jepsen keeps one: every client operation with the time
 * it was invoked and completed (ms since the run began), its outcome and what was sent
 * and answered; every fault of the nemesis with its start and end. Written as JSON lines.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** ok: a 2xx; fail: a definite refusal (4xx, 503: nothing was done); unknown: no answer, a timeout, another 5xx */
export type Outcome = "ok" | "fail" | "unknown";

export type OpKind = "order" | "replay" | "cancel" | "pay" | "read-order" | "read-product" | "restock" | "audit";

export interface Op {
  type: "op";
  id: number;
  worker: string;
  kind: OpKind;
  invoke: number;
  complete: number;
  outcome: Outcome;
  req: {
    method: string;
    path: string;
    key?: string;
    body?: Record<string, unknown>;
  };
  res: {
    status: number | null;
    body?: unknown;
    replayed?: boolean;
    error?: string;
    /** Retry-After of a 503 or 429, in seconds */
    retryAfterS?: number;
  };
}

export type FaultKind = "kill" | "pause" | "nats-restart" | "pg-stop" | "redis-master-kill" | "rolling-restart" | "partition";
export const FAULT_KINDS: readonly FaultKind[] = ["kill", "pause", "nats-restart", "pg-stop", "redis-master-kill", "rolling-restart", "partition"];

export interface Fault {
  type: "fault";
  id: number;
  kind: FaultKind;
  target: string;
  start: number;
  end: number;
  /** how long the cluster took to be whole again after the fault ended (null: it did not) */
  recoveredAfterMs: number | null;
  /** the nemesis could not inject it (say, no iptables): the run did not test what it says */
  error?: string;
}

export type Entry = Op | Fault;

export function outcomeOf(status: number | null): Outcome {
  if (status === null) return "unknown";
  if (status >= 200 && status < 300) return "ok";
  if (status < 500 || status === 503) return "fail";
  return "unknown";
}

export class History {
  readonly entries: Entry[] = [];
  private nextId = 0;
  readonly t0 = Date.now();
  private readonly file: string | null;

  constructor(file: string | null = null) {
    this.file = file;
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, "");
    }
  }

  now(): number {
    return Date.now() - this.t0;
  }

  id(): number {
    return this.nextId++;
  }

  add(entry: Entry): void {
    this.entries.push(entry);
    if (this.file) appendFileSync(this.file, JSON.stringify(entry) + "\n");
  }
}
