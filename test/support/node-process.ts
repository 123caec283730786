/**
 * One more node of a test stack as a real process of its own (scripts/run.ts, the run
 * command), joined to the stack over NATS: something a test can freeze (SIGSTOP) and
 * thaw (SIGCONT) like a node that stalls in production. The stack must run with
 * TRANSPORTER=nats.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ADMIN_TOKEN, WEBHOOK_SECRET, type Stack } from "./stack.ts";
import { NATS_URL, TEST_REDIS_NODES } from "./env.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface NodeProcess {
  pid: number;
  signal(signal: NodeJS.Signals): void;
  /** SIGCONT (it may be frozen), SIGTERM, and waits for the exit (SIGKILL after 20 s) */
  stop(): Promise<void>;
}

/** Starts a node running `services` and resolves once the stack sees them. */
export async function startNodeProcess(stack: Stack, services: string[], env: Record<string, string> = {}): Promise<NodeProcess> {
  // as scripts/start.sh runs a node
  const child = spawn(process.execPath, ["--experimental-async-context-frame", "scripts/run.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "test",
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      TRANSPORTER: "nats",
      NATS_URL,
      REDIS_NODES: TEST_REDIS_NODES.join(","),
      DATABASE_URL: stack.config.databaseUrl,
      STREAM_PREFIX: stack.config.streamPrefix,
      SERVICES: services.join(","),
      SHUTDOWN_DRAIN_MS: "100",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + String(d)).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const died = exited.then((code) => {
    throw new Error(`node process (${services.join(",")}) exited with ${code}: ${stderr.trim()}`);
  });
  await Promise.race([stack.broker.waitForServices(services, 60_000), died]);
  died.catch(() => undefined); // an exit after this is stop()'s

  return {
    pid: child.pid!,
    signal: (signal) => void child.kill(signal),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
