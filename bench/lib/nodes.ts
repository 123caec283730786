/**
 * The service nodes of a benchmark target: the environment each node starts with (the
 * benchmark's database, Redis Cluster, NATS and stream prefix; no rate limit, so one
 * load generator can play every buyer) and the health probe that says it is up.
 */
import { randomBytes } from "node:crypto";
import { benchDbUrl, redisNodes } from "./infra.ts";
import { getJson } from "./service.ts";

export interface NodeSecrets {
  adminToken: string;
  webhookSecret: string;
  natsUrl: string;
}

/** A run's own admin token and webhook secret, new for every run. */
export function newSecrets(natsUrl: string): NodeSecrets {
  return { adminToken: `bench-admin-${randomBytes(12).toString("hex")}`, webhookSecret: `bench-webhook-${randomBytes(12).toString("hex")}`, natsUrl };
}

export function nodeEnv(s: NodeSecrets, prefix: string, port: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["SERVICES", "NODE_ID", "INVENTORY_MODE", "TRANSPORTER", "REDIS_URL", "SEED_PRODUCT", "METRICS_PORT", "NODE_OPTIONS"]) delete env[k];
  return {
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
    NODE_ENV: "test",
    ADMIN_TOKEN: s.adminToken,
    WEBHOOK_SECRET: s.webhookSecret,
    DATABASE_URL: benchDbUrl(),
    REDIS_NODES: redisNodes().map((n) => `${n.host}:${n.port}`).join(","),
    NATS_URL: s.natsUrl,
    STREAM_PREFIX: prefix,
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "1000000",
    ...extra,
  };
}

export async function healthy(base: string, want: (status: number, body: Record<string, string>) => boolean): Promise<true | undefined> {
  const r = await getJson(`${base}/health`, 3000);
  return want(r.status, (r.body ?? {}) as Record<string, string>) ? true : undefined;
}

export const health200 = (s: number) => s === 200;

/**
 * The Node flags of a service node in a benchmark: those of `npm run node` (package.json),
 * V8's CPU profiler into `cpuProfDir` when given, and BENCH_NODE_ARGS (extra Node/V8 flags
 * such as "--trace-opt --trace-deopt": diagnostics only).
 */
export function serviceNodeArgs(cpuProfDir?: string): string[] {
  return [
    "--experimental-async-context-frame",
    ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : []),
    ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ];
}
