/**
 * Child processes of the benchmark: the service nodes (scripts/run.ts) and the bare
 * server. Every child is tracked, so an error or Ctrl-C stops exactly the
 * processes this run started (by pid), nothing else.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
  signal?: NodeJS.Signals | null;
  exitedAt?: string;
  /** set just before this harness sends SIGTERM, to tell our stops from deaths */
  stopping?: boolean;
}

const live = new Set<Child>();

export function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv, logDir: string, cwd: string, nodeArgs: string[] = []): Child {
  return spawnProgram(name, process.execPath, [...nodeArgs, script], env, logDir, cwd);
}

/** Any program as a tracked child (HAProxy in front of the scale-out gateways), its output in `<name>.log`. */
export function spawnProgram(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, logDir: string, cwd: string): Child {
  const logFile = join(logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: "a" });
  const proc = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  const child: Child = {
    name,
    proc,
    logFile,
    exitCode: undefined,
    exited: new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        child.exitCode = code ?? (signal ? -1 : null);
        child.signal = signal;
        child.exitedAt = new Date().toISOString();
        live.delete(child);
        // let the pipes flush before closing the file
        setTimeout(() => out.end(), 50);
        resolve(code);
      });
      proc.on("error", () => resolve(null));
    }),
  };
  live.add(child);
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
export async function stopChild(child: Child, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== undefined) return;
  child.stopping = true;
  child.proc.kill("SIGTERM");
  const killer = setTimeout(() => {
    if (child.exitCode === undefined) child.proc.kill("SIGKILL");
  }, graceMs);
  await child.exited;
  clearTimeout(killer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
}

/** Synchronous last resort (process 'exit' handler): SIGKILL whatever is still ours. */
export function killAllNow(): void {
  for (const c of live) {
    try {
      c.proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** The first free port at or above `from` (bounded search). */
export async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 200; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${from}..${from + 199}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `check` every `everyMs` until it returns a value (not undefined), the time is
 * up, or one of the `children` exited. Throws with the reason.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  children: Child[] = [],
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr = "";
  for (;;) {
    for (const c of children) {
      if (c.exitCode !== undefined) {
        throw new Error(`${c.name} exited (${describeExit(c)}) while waiting for ${what}; log tail:\n${tail(c.logFile)}`);
      }
    }
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ""}`);
    await sleep(everyMs);
  }
}

export function describeExit(c: Child): string {
  if (c.exitCode === undefined) return "running";
  return `code ${c.exitCode}${c.signal ? `, signal ${c.signal}` : ""} at ${c.exitedAt}${c.stopping ? "" : ", not stopped by this harness"}`;
}
