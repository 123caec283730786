/** The dashboard's session cookie: issued, verified, refused when forged, expired or from another token. */
import { dashboardSession, localRevokedSessions, DASHBOARD_SESSION_SECONDS } from "../../src/ops/dashboard-session.ts";

const now = 1_800_000_000_000;
const value = (setCookie: string) => setCookie.split(";")[0];

test("a cookie verifies until its expiry, and not after", () => {
  const s = dashboardSession("token-1", false);
  const { setCookie, expiresAt } = s.issue(now);
  expect(expiresAt).toBe(now + DASHBOARD_SESSION_SECONDS * 1000);
  expect(s.verify(`other=1; ${value(setCookie)}; more=2`, now + 1000)).toBe(expiresAt);
  expect(s.verify(value(setCookie), expiresAt - 1)).toBe(expiresAt);
  expect(s.verify(value(setCookie), expiresAt)).toBeNull();
});

test("a cookie from another token, with an altered expiry or signature, or malformed, is refused", () => {
  const s = dashboardSession("token-1", false);
  const good = value(s.issue(now).setCookie);
  const [, expiry, sig] = /=(\d+)\.(.+)$/.exec(good)!;
  expect(s.verify(value(dashboardSession("token-2", false).issue(now).setCookie), now)).toBeNull();
  expect(s.verify(`flash_dashboard=${Number(expiry) - 1}.${sig}`, now)).toBeNull();
  expect(s.verify(`flash_dashboard=${expiry}.${sig.replace(/^./, (c) => (c === "A" ? "B" : "A"))}`, now)).toBeNull();
  for (const bad of [undefined, "", "flash_dashboard=", "flash_dashboard=1.2", `flash_dashboard=${expiry}`, `flash_dashboard=${expiry}.${sig}x`]) {
    expect(s.verify(bad, now)).toBeNull();
  }
});

test("Secure is set outside development and test; the cookie is always HttpOnly, SameSite=Strict, on the dashboard's path", () => {
  const prod = dashboardSession("t", true).issue(now).setCookie;
  expect(prod.split("; ")).toEqual(expect.arrayContaining(["HttpOnly", "SameSite=Strict", "Path=/api/admin/dashboard", "Secure"]));
  expect(dashboardSession("t", false).issue(now).setCookie).not.toContain("Secure");
});

test("a signed-out cookie is refused until it would have expired, and only that one", async () => {
  let clock = now;
  const s = dashboardSession("token-1", false, localRevokedSessions(() => clock));
  const mine = value(s.issue(now).setCookie);
  const other = value(s.issue(now + 1).setCookie);
  expect(await s.check(mine, now)).toBe(now + DASHBOARD_SESSION_SECONDS * 1000);
  await s.signOut(`x=1; ${mine}`, now);
  expect(await s.check(mine, now)).toBeNull();
  expect(s.verify(mine, now)).not.toBeNull(); // the signature alone is still good: check is what the routes use
  expect(await s.check(other, now + 1)).toBe(now + 1 + DASHBOARD_SESSION_SECONDS * 1000);
  await s.signOut("flash_dashboard=garbage", now); // nothing to revoke
  clock = now + DASHBOARD_SESSION_SECONDS * 1000;
  expect(await s.check(mine, clock)).toBeNull(); // expired by then anyway
});
