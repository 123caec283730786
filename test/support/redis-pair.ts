/**
 * A Redis master with one replica, each a redis-server of the test's own (ports `port`
 * and `port + 1`, data in a temporary directory), for tests about replication: WAIT,
 * a replica that stops acknowledging (SIGSTOP). Started before the file's tests, every
 * server killed after them (SIGCONT first: a stopped process does not die of SIGTERM).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { eventually } from "./eventually.ts";

export interface RedisPair {
  url: string;
  master: Redis;
  /** stops the replica (SIGSTOP): it receives nothing and acknowledges nothing until resumed */
  pauseReplica(): void;
  /**
   * SIGCONT, then a write and WAIT of the pair's own, which makes the master ask the
   * replica for its offset at once (else it reports it once a second): resolves once the
   * replica acknowledged everything written before; every blocked WAIT it satisfies returns
   */
  resumeReplica(): Promise<void>;
}

export function useRedisPair(port: number): RedisPair {
  const servers: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "flash-pair-"));
  const pair = { url: `redis://127.0.0.1:${port}` } as RedisPair;
  const start = (p: number, extra: string[]) => {
    const child = spawn("redis-server", ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--dbfilename", `dump-${p}.rdb`, ...extra], { stdio: "ignore" });
    servers.push(child);
    return child;
  };
  beforeAll(async () => {
    start(port, []);
    const replica = start(port + 1, ["--replicaof", "127.0.0.1", String(port)]);
    pair.master = new Redis(port, "127.0.0.1", { lazyConnect: false });
    pair.pauseReplica = () => void replica.kill("SIGSTOP");
    pair.resumeReplica = async () => {
      replica.kill("SIGCONT");
      await pair.master.set("pair:acked", String(Date.now()));
      if ((await pair.master.wait(1, 10_000)) !== 1) throw new Error("the resumed replica did not acknowledge in 10 s");
    };
    await eventually(async () => /connected_slaves:1\b/.test(await pair.master.info("replication")), 20_000, "the replica to connect");
  });
  afterAll(async () => {
    await pair.master?.quit().catch(() => undefined);
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
      if (s.exitCode !== null || s.signalCode !== null) return resolve();
      s.once("exit", () => resolve());
      s.kill("SIGCONT");
      s.kill("SIGKILL");
    })));
    rmSync(dir, { recursive: true, force: true });
  });
  return pair;
}
