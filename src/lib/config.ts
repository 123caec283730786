/**
 * The only reader of process.env. Everything is read once, validated, and frozen;
 * a bad value stops the process at start with a message naming the variable.
 * Defaults are for development; docs/configuration.md lists every variable (written
 * from CONFIG_VARIABLES below by `npm run docs:config`).
 */
import { readFileSync } from "node:fs";
import { hkdfSync } from "node:crypto";

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
  /** HS256 key of the entry tokens (src/domain/entry-token.ts): ENTRY_TOKEN_SECRET, or derived from ADMIN_TOKEN */
  entryTokenSecret: string;
  /** HMAC key of the join challenges (src/domain/join-challenge.ts): CHALLENGE_SECRET, or derived from ADMIN_TOKEN */
  challengeSecret: string;
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

/**
 * A key of the line's (entry tokens, join challenges): the variable `name` (at least 32
 * bytes) when set, else one derived from ADMIN_TOKEN (HKDF-SHA256, a label of its own):
 * every node of a deployment shares it without another secret to hand out, and one key
 * never verifies what another signed.
 */
function derivedSecret(name: string, given: string | undefined, adminToken: string, label: string): string {
  if (given) {
    if (Buffer.byteLength(given) < 32) throw new ConfigError(`${name} must be at least 32 bytes`);
    return given;
  }
  return Buffer.from(hkdfSync("sha256", adminToken, "flash-sale", label, 32)).toString("base64url");
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
    adminToken: adminToken || DEV_ADMIN_TOKEN,
    webhookSecret: webhookSecret || "dev-webhook-secret",
    entryTokenSecret: derivedSecret("ENTRY_TOKEN_SECRET", env.ENTRY_TOKEN_SECRET, adminToken || DEV_ADMIN_TOKEN, "entry-token"),
    challengeSecret: derivedSecret("CHALLENGE_SECRET", env.CHALLENGE_SECRET, adminToken || DEV_ADMIN_TOKEN, "join-challenge"),
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

/**
 * How docs/configuration.md describes a variable. `default` is the value a node takes when
 * the variable is unset, written as one would set it (test/unit/config-docs.test.ts sets it
 * and expects the same configuration); `note` follows it in the default's cell, or stands
 * alone for a default that is no single value; `readBy` names the script that reads a
 * variable loadConfig does not.
 */
export interface ConfigVariable {
  default?: string;
  note?: string;
  meaning: string;
  readBy?: string;
}

/**
 * Every variable loadConfig reads, in the order docs/configuration.md lists them: `npm run
 * docs:config` writes that page's table from this, and a test fails when loadConfig reads a
 * variable missing here, when a default here is not loadConfig's, or when the page is stale.
 * Meanings are Markdown, and their links are relative to docs/.
 */
export const CONFIG_VARIABLES: Readonly<Record<string, ConfigVariable>> = {
  PORT: { default: "3000", meaning: "the gateway's HTTP port" },
  HOST: { default: "0.0.0.0", meaning: "the address the gateway listens on" },
  NODE_ENV: { default: "development", meaning: "outside `development` and `test`, `ADMIN_TOKEN` and `WEBHOOK_SECRET` are required" },
  ADMIN_TOKEN: { default: DEV_ADMIN_TOKEN, note: "(dev/test only)", meaning: "bearer token of `/api/admin/*` (compared in constant time)" },
  WEBHOOK_SECRET: { default: "dev-webhook-secret", note: "(dev/test only)", meaning: "HMAC-SHA256 key of the payment provider's `X-Signature`" },
  CHALLENGE_SECRET: { note: "derived from `ADMIN_TOKEN` (HKDF-SHA256)", meaning: "HMAC key of the proof-of-work challenges of a line's join (API.md, Fair access, rule 5), at least 32 bytes" },
  ENTRY_TOKEN_SECRET: { note: "derived from `ADMIN_TOKEN` (HKDF-SHA256)", meaning: "HS256 key of the entry tokens of a line (API.md, Fair access), at least 32 bytes; set it to rotate entries apart from the admin token" },
  WEBHOOK_TOLERANCE_SECONDS: { default: "300", meaning: "accepted age of a webhook signature" },
  DATABASE_URL: { default: "postgres://postgres@127.0.0.1:5432/flash_sale", meaning: "PostgreSQL (created if missing)" },
  REDIS_NODES: { meaning: "Redis Cluster seed nodes `host:port,…` (the design)" },
  REDIS_URL: { meaning: "a single Redis instead of a cluster (same scripts, same keys)" },
  NATS_URL: { default: "nats://127.0.0.1:4222", meaning: "NATS with JetStream: the order stream, and the transporter" },
  TRANSPORTER: { default: "nats", meaning: "`nats`: services on many nodes over `NATS_URL`; `none`: every service in this process, alone" },
  SERVICES: { default: ALL_SERVICES.join(","), meaning: "which services this node runs, e.g. `gateway` or `inventory,orders`; `none`: a node that only joins the cluster (the REPL)" },
  NODE_ID: { note: "hostname-pid", meaning: "this node's id in the cluster" },
  STREAM_PREFIX: { default: "FLASH", meaning: "names a deployment: its JetStream streams/consumer, its Moleculer namespace and every Redis key it writes (`[A-Za-z0-9_-]{1,32}`; see [Deployments that share servers](operating.md#deployments-that-share-servers))" },
  RESERVATION_TTL_SECONDS: { default: "600", meaning: "an unpaid reservation is released after this" },
  IDEMPOTENCY_TTL_SECONDS: { default: "172800", meaning: "how long `Idempotency-Key`s are remembered (≥ 24 h)" },
  INVENTORY_MODE: { default: "redis", meaning: "`redis` (the design) or `pg-lock` (the naive baseline, see [Benchmarks](benchmarks.md))" },
  RATE_LIMIT_PER_SECOND: { default: "20", meaning: "requests a second per buyer (`user_id`; the client address only for anonymous requests), per gateway node" },
  RATE_LIMIT_BURST: { default: "40", meaning: "requests a buyer may send at once above that rate (the token bucket's size), per gateway node" },
  PUBLISH_TIMEOUT_MS: { default: "5000", meaning: "how long a reservation waits for JetStream's ack before 503" },
  REQUEST_TIMEOUT_MS: { default: "10000", meaning: "how long a call between services may take before `503`" },
  CONSUMER_BATCH_SIZE: { default: "500", meaning: "orders written per PostgreSQL transaction, at most" },
  CONSUMER_MAX_DELIVER: { default: "10", meaning: "attempts before a poisoned message goes to the dead-letter stream" },
  CONSUMER_ACK_WAIT_MS: { default: "30000", meaning: "JetStream ack wait of the order consumer" },
  SWEEP_INTERVAL_MS: { default: "5000", meaning: "how often the sweeper runs" },
  ORPHAN_GRACE_SECONDS: { default: "60", meaning: "how long past its expiry a reservation without an order row is given before it is written off" },
  SEED_PRODUCT: { default: "false", note: "(`npm start`: `true`)", meaning: "create a demo product when the database has none" },
  STREAM_REPLICAS: { default: "1", meaning: "JetStream replicas of the order and dead-letter streams (`3` on a three-server NATS cluster)" },
  LOG_LEVEL: { default: "info", meaning: "Moleculer log level" },
  METRICS_PORT: { meaning: "a node without the gateway serves Prometheus metrics here" },
  REDIS_MIN_REPLICAS: { default: "0", note: "(`npm run cluster`, compose, Kubernetes: `1`)", meaning: "replicas that must hold a reservation before its `202` (`WAIT` in the script's pipeline); a master without them answers `503` (see [While a slot has no replica](faults.md#while-a-slot-has-no-replica))" },
  REDIS_WAIT_TIMEOUT_MS: { default: "1000", meaning: "how long that `WAIT` may take" },
  REDIS_FAILOVER_WAIT_MS: { default: "6000", meaning: "how long a Redis operation keeps retrying through a failover (dead master, promotion, moved slot) before `503`" },
  HEARTBEAT_INTERVAL_S: { default: "1", meaning: "Moleculer heartbeats: how often each node sends one" },
  HEARTBEAT_TIMEOUT_S: { default: "4", meaning: "a node silent this long is taken off, its calls retried elsewhere, its products moved" },
  SHUTDOWN_DRAIN_MS: { default: "2000", meaning: "on SIGTERM, how long a node stays up unready (the load balancer's checks notice) before it stops taking work" },
  SHUTDOWN_TIMEOUT_MS: { default: "20000", meaning: "the longest a graceful shutdown may take before the process exits anyway" },
  SOLD_OUT_FLAG_MS: { default: "1000", meaning: "how long a node answers `409 SOLD_OUT` for a product it was told sold out without asking the inventory; a lost \"units back\" event delays a resale by at most this long; `0` turns the hint off" },
  RESERVE_BATCH_MAX: { default: "64", meaning: "reservations of one product arriving together leave a gateway as one `inventory.reserveMany` call and go to Redis as one Lua call, at most this many (`1`: one call per request)" },
  BUYER_AUTH: { default: "none", meaning: "`none`: the buyer is the body's `user_id`; `jwt`: the buyer endpoints need `Authorization: Bearer <JWT>` and the buyer is its `sub` (see [Buyer identity](buyers.md#buyer-identity))" },
  BUYER_JWT_SECRET: { meaning: "HS256 key of buyer tokens, at least 32 bytes" },
  BUYER_JWKS: { meaning: "RS256/ES256 public keys of buyer tokens: a JWKS file (read at start) or an `https://` URL (fetched and cached; `http://` only in development/test)" },
  BUYER_JWT_ISSUER: { meaning: "when set, a token's `iss` must be this" },
  BUYER_JWT_AUDIENCE: { meaning: "when set, a token's `aud` must be one of these (comma-separated)" },
  BUYER_JWT_LEEWAY_SECONDS: { default: "30", meaning: "clock skew tolerated on `exp` and `nbf` (0–300)" },
  SSE_MAX_STREAMS: { default: "10000", meaning: "live-update streams one gateway node holds at most; more are `503` with `Retry-After`" },
  SSE_HEARTBEAT_MS: { default: "10000", meaning: "a comment line on every live stream this often (at most 15000: API.md's 15 s)" },
  SSE_MAX_BUFFERED_BYTES: { default: "65536", meaning: "what one live stream (and the dashboard's) may owe its client, kernel buffers included: a stream hands over (ends, asking for a reconnect at once) after writing this much, less up to a quarter" },
  PRODUCT_UPDATE_INTERVAL_MS: { default: "250", meaning: "product updates are coalesced to at most one per this interval per product (inventory's announcements and each gateway's reads)" },
  REDIS_CLUSTER_PORT: { default: "17001", readBy: "`npm start`", meaning: "without `REDIS_NODES`/`REDIS_URL`: the first port of its own Redis Cluster (three masters, this port and the next two)" },
};
