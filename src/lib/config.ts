/**
 * The only reader of process.env. Everything is read once, validated, and frozen;
 * a bad value stops the process at start with a message naming the variable.
 * Defaults are for development; README.md lists every variable.
 */
import { readFileSync } from "node:fs";

export type InventoryMode = "redis" | "pg-lock";

/** Where the buyer tokens' public keys come from: a JWKS read at start, or fetched (and cached) from a URL. */
export type BuyerJwks = { url: URL } | { keys: { keys: Array<Record<string, unknown>> }; file: string };

export interface BuyerAuthConfig {
  mode: "none" | "jwt";
  /** HS256 key (BUYER_JWT_SECRET) */
  secret: string | undefined;
  /** RS256/ES256 keys (BUYER_JWKS) */
  jwks: BuyerJwks | undefined;
  issuer: string | undefined;
  audience: string[] | undefined;
  leewaySeconds: number;
}

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
  streamReplicas: number;
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
  buyerAuth: BuyerAuthConfig;
  sseMaxStreams: number;
  sseHeartbeatMs: number;
  sseMaxBufferedBytes: number;
  productUpdateIntervalMs: number;
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

/** HS256 keys shorter than the hash (RFC 7518 §3.2) are guessable offline from one token. */
const MIN_SECRET_BYTES = 32;

function buyerAuth(env: NodeJS.ProcessEnv, relaxed: boolean): BuyerAuthConfig {
  const mode = str(env, "BUYER_AUTH", "none");
  if (mode !== "none" && mode !== "jwt") throw new ConfigError(`BUYER_AUTH must be "none" or "jwt", got "${mode}"`);
  const secret = env.BUYER_JWT_SECRET || undefined;
  if (secret !== undefined && Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new ConfigError(`BUYER_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (HS256)`);
  }
  const jwks = env.BUYER_JWKS ? jwksSource(env.BUYER_JWKS, relaxed) : undefined;
  if (mode === "jwt" && !secret && !jwks) {
    throw new ConfigError("BUYER_AUTH=jwt needs BUYER_JWT_SECRET (HS256) or BUYER_JWKS (RS256/ES256 keys: a file or an https URL)");
  }
  const audience = str(env, "BUYER_JWT_AUDIENCE", "").split(",").map((s) => s.trim()).filter(Boolean);
  return {
    mode,
    secret,
    jwks,
    issuer: env.BUYER_JWT_ISSUER || undefined,
    audience: audience.length > 0 ? audience : undefined,
    leewaySeconds: int(env, "BUYER_JWT_LEEWAY_SECONDS", 30, 0, 300),
  };
}

function jwksSource(raw: string, relaxed: boolean): BuyerJwks {
  if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(`BUYER_JWKS is not a valid URL: "${raw}"`);
    }
    // keys fetched in clear text can be swapped on the way: only for local development
    if (url.protocol === "http:" && !relaxed) throw new ConfigError("BUYER_JWKS must be an https URL outside development and test");
    return { url };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(raw, "utf8"));
  } catch (err) {
    throw new ConfigError(`BUYER_JWKS: cannot read a JSON Web Key Set from the file "${raw}": ${(err as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === "object" && typeof k.kty === "string")) {
    throw new ConfigError(`BUYER_JWKS: the file "${raw}" is not a JSON Web Key Set ({ "keys": [ { "kty": ... } ] })`);
  }
  if (keys.some((k) => "d" in k || k.kty === "oct")) {
    throw new ConfigError(`BUYER_JWKS: the file "${raw}" holds private or symmetric keys; it must hold only public keys`);
  }
  return { keys: { keys }, file: raw };
}

/** ADMIN_TOKEN when it is unset in development and test (`npm start` says so). */
export const DEV_ADMIN_TOKEN = "dev-admin-token";

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
    adminToken: adminToken || DEV_ADMIN_TOKEN,
    webhookSecret: webhookSecret || "dev-webhook-secret",
    webhookToleranceSeconds: int(env, "WEBHOOK_TOLERANCE_SECONDS", 300, 1, 3600),
    databaseUrl: str(env, "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flash_sale"),
    redisNodes,
    redisUrl,
    natsUrl,
    transporter,
    services,
    streamPrefix,
    streamReplicas: int(env, "STREAM_REPLICAS", 1, 1, 5),
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
    buyerAuth: Object.freeze(buyerAuth(env, relaxed)),
    sseMaxStreams: int(env, "SSE_MAX_STREAMS", 10_000, 1, 1_000_000),
    // API.md: a comment line at least every 15 s
    sseHeartbeatMs: int(env, "SSE_HEARTBEAT_MS", 10_000, 100, 15_000),
    sseMaxBufferedBytes: int(env, "SSE_MAX_BUFFERED_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
    productUpdateIntervalMs: int(env, "PRODUCT_UPDATE_INTERVAL_MS", 250, 10, 5000),
  });
}
