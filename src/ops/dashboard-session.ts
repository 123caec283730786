/**
 * The dashboard's session cookie. EventSource cannot send an Authorization header, and
 * the admin token must never travel in a URL (URLs land in access logs), so the page
 * trades the Bearer token once for a short-lived cookie: `<expiry ms>.<HMAC-SHA256 of
 * the expiry>`, keyed by a key derived from ADMIN_TOKEN (rotating the token voids every
 * cookie; the cookie never reveals the token). HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it) and scoped to the dashboard's API path.
 *
 * Signing out revokes the cookie, on every gateway node: its signature (one per session:
 * it signs the expiry, to the millisecond) is put on a revocation list in Redis until
 * the cookie would have expired anyway, and every use of a cookie looks there first.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Config } from "../lib/config.ts";
import { UnavailableError } from "../lib/errors.ts";
import { deploymentKeys } from "../lib/keys.ts";
import type { RedisClient } from "../lib/redis.ts";
import { redisResource } from "../lib/resources.ts";

export const DASHBOARD_COOKIE = "flash_dashboard";
export const DASHBOARD_COOKIE_PATH = "/api/admin/dashboard";
/** a session lasts this long; the page trades the token again when its stream ends */
export const DASHBOARD_SESSION_SECONDS = 15 * 60;

export interface DashboardSession {
  /** A new cookie valid until now + DASHBOARD_SESSION_SECONDS: the Set-Cookie value and the expiry. */
  issue(now: number): { setCookie: string; expiresAt: number };
  /** The Set-Cookie value that makes the browser drop its cookie (signing out on a shared screen). */
  clear(): string;
  /** The expiry (ms) of the request's valid, unexpired cookie, or null (its signature only: see `check`). */
  verify(cookieHeader: string | undefined, now: number): number | null;
  /** The expiry (ms) of the request's valid, unexpired cookie that was not signed out, or null. */
  check(cookieHeader: string | undefined, now: number): Promise<number | null>;
  /** Revokes the request's cookie (if it is a valid one) on every node, until it would have expired. */
  signOut(cookieHeader: string | undefined, now: number): Promise<void>;
}

/** The list of signed-out sessions, by id, each kept `ttlMs`. */
export interface RevokedSessions {
  add(id: string, ttlMs: number): Promise<void>;
  has(id: string): Promise<boolean>;
  /** gives back what it holds (a connection) */
  close(): Promise<void>;
}

export function dashboardSession(adminToken: string, secure: boolean, revoked: RevokedSessions = localRevokedSessions()): DashboardSession {
  const key = createHmac("sha256", adminToken).update("flash-sale dashboard session v1").digest();
  const sign = (expiresAt: number) => createHmac("sha256", key).update(String(expiresAt)).digest("base64url");

  return {
    issue(now) {
      const expiresAt = now + DASHBOARD_SESSION_SECONDS * 1000;
      const attributes = [
        `${DASHBOARD_COOKIE}=${expiresAt}.${sign(expiresAt)}`,
        `Path=${DASHBOARD_COOKIE_PATH}`,
        `Max-Age=${DASHBOARD_SESSION_SECONDS}`,
        "HttpOnly",
        "SameSite=Strict",
      ];
      // plain http only in development and tests: a browser drops a Secure cookie sent over http
      if (secure) attributes.push("Secure");
      return { setCookie: attributes.join("; "), expiresAt };
    },

    clear() {
      return `${DASHBOARD_COOKIE}=; Path=${DASHBOARD_COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
    },

    verify(cookieHeader, now) {
      return valid(cookieHeader, now)?.expiresAt ?? null;
    },

    async check(cookieHeader, now) {
      const session = valid(cookieHeader, now);
      return session && !(await revoked.has(session.id)) ? session.expiresAt : null;
    },

    async signOut(cookieHeader, now) {
      const session = valid(cookieHeader, now);
      if (session) await revoked.add(session.id, session.expiresAt - now);
    },
  };

  /** The cookie's session (its id is its signature) when it is ours and unexpired. */
  function valid(cookieHeader: string | undefined, now: number): { expiresAt: number; id: string } | null {
    const value = cookieValue(cookieHeader, DASHBOARD_COOKIE);
    const m = value ? /^(\d{13,15})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!m) return null;
    const expiresAt = Number(m[1]);
    // a cookie claiming to last longer than a session was not issued by us
    if (expiresAt <= now || expiresAt > now + DASHBOARD_SESSION_SECONDS * 1000) return null;
    const given = Buffer.from(m[2], "base64url");
    const expected = Buffer.from(sign(expiresAt), "base64url");
    return given.length === expected.length && timingSafeEqual(given, expected) ? { expiresAt, id: m[2] } : null;
  }
}

/**
 * The revocation list every gateway node of the deployment shares: a Redis key per
 * signed-out session, expiring with it. The connection is taken at first use and given
 * back by `close()`. Redis unreachable: 503 (a cookie is never let through unchecked).
 */
export function redisRevokedSessions(config: Pick<Config, "redisNodes" | "redisUrl" | "streamPrefix">): RevokedSessions {
  const keys = deploymentKeys(config.streamPrefix);
  let client: Promise<RedisClient> | undefined;
  const redis = () => (client ??= redisResource.acquire(config).then((r) => r.redis, (err: Error) => {
    client = undefined;
    throw err;
  }));
  const unavailable = (err: Error) => {
    throw new UnavailableError(`the dashboard's sessions cannot be checked: ${err.message}`, "redis");
  };
  return {
    async add(id, ttlMs) {
      await redis().then((r) => r.set(keys.dashboardSessionRevoked(id), "1", "PX", Math.max(1, ttlMs))).catch(unavailable);
    },
    async has(id) {
      return (await redis().then((r) => r.exists(keys.dashboardSessionRevoked(id))).catch(unavailable)) === 1;
    },
    async close() {
      if (!client) return;
      client = undefined;
      await redisResource.release(config);
    },
  };
}

/** A gateway without Redis (a single process): the list in memory. */
export function localRevokedSessions(now: () => number = Date.now): RevokedSessions {
  const until = new Map<string, number>();
  return {
    async add(id, ttlMs) {
      for (const [k, t] of until) if (t <= now()) until.delete(k);
      until.set(id, now() + ttlMs);
    },
    async has(id) {
      return (until.get(id) ?? 0) > now();
    },
    async close() {},
  };
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
