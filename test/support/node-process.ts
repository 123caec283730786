/**
 * One flash-sale node as a real process (`scripts/run.ts`, as `npm start` and the
 * image run it), in a process group of its own: signals reach it as they would in
 * production, and `kill()` stops the whole group, SIGKILL after a grace period, so a
 * failing test leaves nothing running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ADMIN_TOKEN, WEBHOOK_SECRET, type Stack } from "./stack.ts";
import { NATS_URL, TEST_REDIS_NODES } from "./env.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  /** everything the node printed so far, stdout and stderr */
  output(): string;
  /** resolves with the exit code once the process exited */
  exited: Promise<number | null>;
  /** resolves once the output contains `text` or matches it (rejects if the process exits first) */
  printed(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** the process group: SIGTERM, then SIGKILL after `graceMs`; resolves once its leader exited */
  kill(graceMs?: number): Promise<void>;
}

/** A node: scripts/run.ts with `env` (PATH and HOME are the test's unless `env` sets them). */
export function spawnNode(env: Record<string, string>): NodeProcess {
  return spawnGroup([process.execPath, "--experimental-async-context-frame", "scripts/run.ts"], {
    PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", ...env,
  });
}

/** Any command (argv) in the repository's directory, in a process group of its own, with exactly `env`. */
export function spawnGroup(argv: string[], env: Record<string, string>): NodeProcess {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // a group of its own: kill() reaches whatever it started
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };

  return {
    child,
    output: () => out,
    exited,
    printed(text, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (typeof text === "string" ? !out.includes(text) : !text.test(out)) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => (done(), reject(new Error(`node did not print "${text}" within ${timeoutMs} ms; output:\n${out}`))), timeoutMs);
        const onExit = (code: number | null) => (done(), reject(new Error(`node exited (${code}) before printing "${text}"; output:\n${out}`)));
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("exit", onExit);
        };
        listeners.add(check);
        child.once("exit", onExit);
        check();
      });
    },
    async kill(graceMs = 5000) {
      const groupAlive = () => {
        try {
          process.kill(-child.pid!, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (!groupAlive()) return;
      signalGroup("SIGTERM");
      const deadline = Date.now() + graceMs;
      while (groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      signalGroup("SIGKILL"); // whatever of the group outlived the grace period
      await exited;
    },
  };
}

export interface StackNode {
  pid: number;
  signal(signal: NodeJS.Signals): void;
  /** SIGCONT (it may be frozen), then kill(): SIGTERM, SIGKILL after 20 s; waits for the exit */
  stop(): Promise<void>;
}

/**
 * One more node of a test stack (test/support/stack.ts) running `services`, joined to
 * it over NATS: something a test can freeze (SIGSTOP) and thaw (SIGCONT) like a node
 * that stalls in production. The stack must run with TRANSPORTER=nats. Resolves once
 * the stack sees the services.
 */
export async function startNodeProcess(stack: Stack, services: string[], env: Record<string, string> = {}): Promise<StackNode> {
  const node = spawnNode({
    NODE_ENV: "test", ADMIN_TOKEN, WEBHOOK_SECRET, TRANSPORTER: "nats", NATS_URL,
    REDIS_NODES: TEST_REDIS_NODES.join(","), DATABASE_URL: stack.config.databaseUrl, STREAM_PREFIX: stack.config.streamPrefix,
    SERVICES: services.join(","), SHUTDOWN_DRAIN_MS: "100", LOG_LEVEL: "warn",
    ...env,
  });
  const died = node.exited.then((code) => {
    throw new Error(`node process (${services.join(",")}) exited with ${code}: ${node.output().slice(-4000).trim()}`);
  });
  try {
    await Promise.race([stack.broker.waitForServices(services, 60_000), died]);
  } catch (err) {
    await node.kill();
    throw err;
  }
  died.catch(() => undefined); // an exit after this is stop()'s
  return {
    pid: node.child.pid!,
    signal: (signal) => void node.child.kill(signal),
    async stop() {
      node.child.kill("SIGCONT");
      await node.kill(20_000);
    },
  };
}
