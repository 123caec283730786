/**
 * The dashboard's session cookie. EventSource cannot send an Authorization header, and
 * the admin token must never travel in a URL (URLs land in access logs), so the page
 * trades the Bearer token once for a short-lived cookie: `<expiry ms>.<HMAC-SHA256 of
 * the expiry>`, keyed by a key derived from ADMIN_TOKEN (rotating the token voids every
 * cookie; the cookie never reveals the token). HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it) and scoped to the dashboard's API path.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const DASHBOARD_COOKIE = "flash_dashboard";
export const DASHBOARD_COOKIE_PATH = "/api/admin/dashboard";
/** a session lasts this long; the page trades the token again when its stream ends */
export const DASHBOARD_SESSION_SECONDS = 15 * 60;

export interface DashboardSession {
  /** A new cookie valid until now + DASHBOARD_SESSION_SECONDS: the Set-Cookie value and the expiry. */
  issue(now: number): { setCookie: string; expiresAt: number };
  /** The Set-Cookie value that makes the browser drop its cookie (signing out on a shared screen). */
  clear(): string;
  /** The expiry (ms) of the request's valid, unexpired cookie, or null. */
  verify(cookieHeader: string | undefined, now: number): number | null;
}

export function dashboardSession(adminToken: string, secure: boolean): DashboardSession {
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
      const value = cookieValue(cookieHeader, DASHBOARD_COOKIE);
      const m = value ? /^(\d{13,15})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
      if (!m) return null;
      const expiresAt = Number(m[1]);
      // a cookie claiming to last longer than a session was not issued by us
      if (expiresAt <= now || expiresAt > now + DASHBOARD_SESSION_SECONDS * 1000) return null;
      const given = Buffer.from(m[2], "base64url");
      const expected = Buffer.from(sign(expiresAt), "base64url");
      return given.length === expected.length && timingSafeEqual(given, expected) ? expiresAt : null;
    },
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
