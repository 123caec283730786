/**
 * `npm run demo` in a small size against a real node whose reservations expire in a
 * few seconds: the summary it prints agrees with what PostgreSQL holds afterwards.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { ADMIN_TOKEN, WEBHOOK_SECRET, startStack, type Stack } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BUYERS = 60;
const STOCK = 24;

function runDemo(baseUrl: string, extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts/demo.ts"), "--url", baseUrl, "--buyers", String(BUYERS), "--stock", String(STOCK),
      "--opens-in", "2", "--concurrency", "20", "--pay", "0.5", "--fail", "0.2", "--cancel", "0.1", "--early", "0.05", "--max-wait", "40", "--json", ...extra], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "test", ADMIN_TOKEN, WEBHOOK_SECRET },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => done({ code, stdout, stderr }));
  });
}

describe("npm run demo", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ RESERVATION_TTL_SECONDS: "4", SWEEP_INTERVAL_MS: "250", ORPHAN_GRACE_SECONDS: "1" });
  });
  afterAll(() => stack?.stop());

  test("a small drop: its summary (sold, paid, cancelled, expired, refused) matches the database, and the audit is ok", async () => {
    const { code, stdout, stderr } = await runDemo(stack.baseUrl, []);
    expect([code, stderr.match(/^.*(error|Error).*$/m)?.[0] ?? null]).toEqual([0, null]);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);

    const { rows } = await stack.db.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from orders where product_id = $1 group by status", [summary.product_id],
    );
    const db = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const total = rows.reduce((a, r) => a + r.n, 0);

    // more buyers than units: every unit sold, and units given back during the drop (a
    // failed payment, a cancel) sold again; every other press refused (sold out; an eager
    // buyer's press a second early is SALE_NOT_ACTIVE, or, on a machine slow enough that
    // it landed after the opening, a win that makes their second press LIMIT_EXCEEDED)
    expect(summary.sold).toBeGreaterThanOrEqual(STOCK);
    expect(total).toBe(summary.sold);
    expect(summary.answers["202"]).toBe(summary.sold);
    expect(summary.paid).toBeLessThanOrEqual(STOCK);
    expect(summary.early_presses).toBe(Math.floor(BUYERS * 0.05));
    const presses = BUYERS + summary.early_presses;
    expect(Object.values(summary.answers as Record<string, number>).reduce((a, n) => a + n, 0)).toBe(presses);
    expect(Object.keys(summary.refused).filter((c) => !["SOLD_OUT", "SALE_NOT_ACTIVE", "LIMIT_EXCEEDED"].includes(c))).toEqual([]);
    const refused = Object.values(summary.refused as Record<string, number>).reduce((a, n) => a + n, 0);
    expect(refused).toBe(presses - summary.sold);
    expect(summary.refused.SOLD_OUT).toBeGreaterThanOrEqual(BUYERS - summary.sold - summary.early_presses);

    expect(summary.unsettled).toBe(0);
    expect(db.paid ?? 0).toBe(summary.paid);
    expect(db.cancelled ?? 0).toBe(summary.cancelled);
    expect(summary.cancelled).toBe(summary.cancelled_by_buyer + summary.payment_failed);
    expect(db.expired ?? 0).toBe(summary.expired);
    expect(summary.paid + summary.cancelled + summary.expired).toBe(summary.sold);
    // with these shares every kind of ending happened
    expect(summary.paid).toBeGreaterThan(0);
    expect(summary.payment_failed).toBeGreaterThan(0);
    expect(summary.expired).toBeGreaterThan(0);
    if (summary.cancel_available) expect(summary.cancelled_by_buyer).toBeGreaterThan(0);
    else expect(summary.cancelled_by_buyer).toBe(0);

    // the server's TTL (4 s) lies between expires_at minus the answer's arrival and minus its sending
    const [lo, hi] = summary.reservation_ttl_bounds;
    expect(lo).toBeLessThanOrEqual(4);
    expect(hi).toBeGreaterThanOrEqual(4);
    expect(summary.latency_ms.p50).toBeGreaterThan(0);
    expect(summary.latency_ms.p99).toBeGreaterThanOrEqual(summary.latency_ms.p50);
    expect(summary.audit_ok).toBe(true);
    expect(summary.product_consistent).toBe(true);
    expect(summary.dashboard).toBe(`${stack.baseUrl}/dashboard`);
  }, 90_000);

  test("a bad option is refused with a message, before anything is created", async () => {
    const { code, stderr } = await runDemo(stack.baseUrl, ["--pay", "0.9"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/at most 1/);
    const { rows } = await stack.db.query<{ n: number }>("select count(*)::int as n from products where name like 'Demo drop%'");
    expect(rows[0].n).toBe(1);
  }, 30_000);
});
