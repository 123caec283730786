/**
 * The only reader of process.env. Everything is read once, validated, and frozen;
 * a bad value stops the process at start with a message naming the variable.
 * Defaults are for development; README.md lists every variable.
 */
export type InventoryMode = "redis" | "pg-lock";

export interface Config {
  env: string;
  nodeId: string | undefined;
  port: number;
  host: string;
  adminToken: string;
  webhookSecret: string;
  webhookToleranceSeconds: number;
  databaseUrl: string;
  redisNodes: string[];
  redisUrl: string | undefined;
  natsUrl: string;
  transporter: string | null;
  services: string[];
  streamPrefix: string;
  reservationTtlSeconds: number;
  idempotencyTtlSeconds: number;
  inventoryMode: InventoryMode;
  publishTimeoutMs: number;
  requestTimeoutMs: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  consumerBatchSize: number;
  consumerMaxDeliver: number;
  consumerAckWaitMs: number;
  sweepIntervalMs: number;
  orphanGraceSeconds: number;
  logLevel: string;
  metricsPort: number | null;
  seedProduct: boolean;
  /** replicas that must hold a reservation before its 202 (Redis WAIT); 0: no replicas */
  redisMinReplicas: number;
  redisWaitTimeoutMs: number;
  /** how long a Redis command keeps retrying through a failover before 503 */
  redisFailoverWaitMs: number;
  /** SIGTERM: how long a node stays up unready before it stops taking work (the load balancer's check interval, and more) */
  shutdownDrainMs: number;
  /** SIGTERM: the longest the whole shutdown may take before the process exits anyway */
  shutdownTimeoutMs: number;
  /** Moleculer heartbeats: a node silent for heartbeatTimeoutS is taken off (its products move) */
  heartbeatIntervalS: number;
  heartbeatTimeoutS: number;
  soldOutFlagMs: number;
  reserveBatchMax: number;
}

export class ConfigError extends Error {}

const ALL_SERVICES = ["gateway", "inventory", "orders", "payments", "sweeper"];

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

function str(env: NodeJS.ProcessEnv, name: string, def: string): string {
  const raw = env[name];
  return raw === undefined || raw === "" ? def : raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const nodeEnv = str(env, "NODE_ENV", "development");
  const relaxed = nodeEnv === "development" || nodeEnv === "test";

  const webhookSecret = env.WEBHOOK_SECRET ?? "";
  if (!webhookSecret && !relaxed) {
    throw new ConfigError("WEBHOOK_SECRET is required outside development and test (NODE_ENV=" + nodeEnv + ")");
  }
  const adminToken = env.ADMIN_TOKEN ?? "";
  if (!adminToken && !relaxed) {
    throw new ConfigError("ADMIN_TOKEN is required outside development and test (NODE_ENV=" + nodeEnv + ")");
  }

  const inventoryMode = str(env, "INVENTORY_MODE", "redis");
  if (inventoryMode !== "redis" && inventoryMode !== "pg-lock") {
    throw new ConfigError(`INVENTORY_MODE must be "redis" or "pg-lock", got "${inventoryMode}"`);
  }

  const redisNodes = str(env, "REDIS_NODES", "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const node of redisNodes) {
    if (!/^[^:\s]+:\d{1,5}$/.test(node)) throw new ConfigError(`REDIS_NODES entries must be host:port, got "${node}"`);
  }
  const redisUrl = env.REDIS_URL || undefined;

  // SERVICES=none: a node that only joins the cluster (the operator's REPL)
  const servicesRaw = str(env, "SERVICES", ALL_SERVICES.join(","));
  const services = servicesRaw === "none" ? [] : servicesRaw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of services) {
    if (!ALL_SERVICES.includes(s)) throw new ConfigError(`SERVICES: unknown service "${s}" (known: ${ALL_SERVICES.join(", ")})`);
  }
  if (redisNodes.length === 0 && !redisUrl && inventoryMode === "redis" && services.includes("inventory")) {
    throw new ConfigError("set REDIS_NODES (a Redis Cluster, host:port,...) or REDIS_URL (a single Redis)");
  }

  const transporterRaw = str(env, "TRANSPORTER", "nats");
  const natsUrl = str(env, "NATS_URL", "nats://127.0.0.1:4222");
  const transporter = transporterRaw === "none" ? null : transporterRaw === "nats" ? natsUrl : transporterRaw;

  const streamPrefix = str(env, "STREAM_PREFIX", "FLASH");
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(streamPrefix)) throw new ConfigError(`STREAM_PREFIX must match [A-Za-z0-9_-]{1,32}`);

  return Object.freeze({
    env: nodeEnv,
    nodeId: env.NODE_ID || undefined,
    port: int(env, "PORT", 3000, 0, 65535),
    host: str(env, "HOST", "0.0.0.0"),
    adminToken: adminToken || "dev-admin-token",
    webhookSecret: webhookSecret || "dev-webhook-secret",
    webhookToleranceSeconds: int(env, "WEBHOOK_TOLERANCE_SECONDS", 300, 1, 3600),
    databaseUrl: str(env, "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flash_sale"),
    redisNodes,
    redisUrl,
    natsUrl,
    transporter,
    services,
    streamPrefix,
    reservationTtlSeconds: int(env, "RESERVATION_TTL_SECONDS", 600, 1, 7 * 24 * 3600),
    idempotencyTtlSeconds: int(env, "IDEMPOTENCY_TTL_SECONDS", 48 * 3600, 24 * 3600, 30 * 24 * 3600),
    inventoryMode,
    publishTimeoutMs: int(env, "PUBLISH_TIMEOUT_MS", 5000, 100, 60000),
    requestTimeoutMs: int(env, "REQUEST_TIMEOUT_MS", 10_000, 100, 600_000),
    rateLimitPerSecond: int(env, "RATE_LIMIT_PER_SECOND", 20, 1, 1_000_000),
    rateLimitBurst: int(env, "RATE_LIMIT_BURST", 40, 1, 1_000_000),
    consumerBatchSize: int(env, "CONSUMER_BATCH_SIZE", 500, 1, 10000),
    consumerMaxDeliver: int(env, "CONSUMER_MAX_DELIVER", 10, 1, 1000),
    consumerAckWaitMs: int(env, "CONSUMER_ACK_WAIT_MS", 30000, 1000, 600000),
    sweepIntervalMs: int(env, "SWEEP_INTERVAL_MS", 5000, 100, 3600000),
    orphanGraceSeconds: int(env, "ORPHAN_GRACE_SECONDS", 60, 0, 86400),
    logLevel: str(env, "LOG_LEVEL", "info"),
    metricsPort: env.METRICS_PORT ? int(env, "METRICS_PORT", 0, 1, 65535) : null,
    seedProduct: str(env, "SEED_PRODUCT", "false") === "true",
    redisMinReplicas: int(env, "REDIS_MIN_REPLICAS", 0, 0, 5),
    redisWaitTimeoutMs: int(env, "REDIS_WAIT_TIMEOUT_MS", 1000, 10, 60_000),
    redisFailoverWaitMs: int(env, "REDIS_FAILOVER_WAIT_MS", 6000, 0, 120_000),
    shutdownDrainMs: int(env, "SHUTDOWN_DRAIN_MS", 2000, 0, 120_000),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 20_000, 1000, 600_000),
    heartbeatIntervalS: int(env, "HEARTBEAT_INTERVAL_S", 1, 1, 60),
    heartbeatTimeoutS: int(env, "HEARTBEAT_TIMEOUT_S", 4, 2, 600),
    soldOutFlagMs: int(env, "SOLD_OUT_FLAG_MS", 1000, 0, 60_000),
    reserveBatchMax: int(env, "RESERVE_BATCH_MAX", 64, 1, 1000),
  });
}
