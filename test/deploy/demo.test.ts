/**
 * `npm run demo` in a small size against a real node whose reservations expire in a
 * few seconds: the summary it prints agrees with what PostgreSQL holds afterwards; and
 * against the default reservation time (600 s), which it does not wait for. Its words
 * count units sold, resold and left (sold + left = the stock).
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
      "--opens-in", "2", "--concurrency", "20", "--pay", "0.5", "--fail", "0.2", "--cancel", "0.1", "--early", "0.05", "--json", ...extra], {
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

/** The units rows of the summary in words (stderr with --json). */
function unitsInWords(text: string) {
  const row = (name: string) => new RegExp(`^  ${name} +(.+)$`, "m").exec(text)?.[1] ?? "";
  const n = (name: string) => Number(/^\d+/.exec(row(name))?.[0]);
  return { total: n("units in stock"), sold: n("units sold"), left: n("units left"), resold: row("units resold"), soldRow: row("units sold") };
}

/** The summary's units against PostgreSQL: sold are the orders that kept their unit, the rest is left; resold apart. */
async function expectUnits(stack: Stack, summary: any, stderr: string) {
  const { rows } = await stack.db.query<{ n: number }>(
    "select count(*)::int as n from orders where product_id = $1 and status not in ('cancelled', 'expired', 'rejected')", [summary.product_id]);
  expect(summary.units.sold).toBe(rows[0].n);
  expect(summary.units.sold + summary.units.left).toBe(STOCK);
  expect(summary.units.resold).toBe(Math.max(0, summary.reservations - STOCK));
  const words = unitsInWords(stderr);
  expect({ total: words.total, sold: words.sold, left: words.left }).toEqual({ total: STOCK, sold: summary.units.sold, left: summary.units.left });
  expect(words.resold).toBe(summary.units.resold > 0
    ? `${summary.units.resold} (given back during the drop and bought again: ${summary.reservations} reservations for ${STOCK} units)` : "none");
  expect(stderr).not.toMatch(/sold \d+ of \d+ units/);
}

describe("npm run demo", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ RESERVATION_TTL_SECONDS: "4", SWEEP_INTERVAL_MS: "250", ORPHAN_GRACE_SECONDS: "1" });
  });
  afterAll(() => stack?.stop());

  test("a small drop whose reservations expire within --max-wait: its summary (units sold, left and resold; paid, cancelled, expired, refused) matches the database, and the audit is ok", async () => {
    const { code, stdout, stderr } = await runDemo(stack.baseUrl, ["--max-wait", "40"]);
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
    expect(summary.reservations).toBeGreaterThanOrEqual(STOCK);
    expect(total).toBe(summary.reservations);
    expect(summary.answers["202"]).toBe(summary.reservations);
    expect(summary.paid).toBeLessThanOrEqual(STOCK);
    expect(summary.early_presses).toBe(Math.floor(BUYERS * 0.05));
    const presses = BUYERS + summary.early_presses;
    expect(Object.values(summary.answers as Record<string, number>).reduce((a, n) => a + n, 0)).toBe(presses);
    expect(Object.keys(summary.refused).filter((c) => !["SOLD_OUT", "SALE_NOT_ACTIVE", "LIMIT_EXCEEDED"].includes(c))).toEqual([]);
    const refused = Object.values(summary.refused as Record<string, number>).reduce((a, n) => a + n, 0);
    expect(refused).toBe(presses - summary.reservations);
    expect(summary.refused.SOLD_OUT).toBeGreaterThanOrEqual(BUYERS - summary.reservations - summary.early_presses);

    // every reservation expires within --max-wait: all waited for, none left awaiting payment
    expect([summary.settled, summary.unsettled, summary.awaiting_payment]).toEqual([true, 0, 0]);
    expect(db.paid ?? 0).toBe(summary.paid);
    expect(db.cancelled ?? 0).toBe(summary.cancelled);
    expect(summary.cancelled).toBe(summary.cancelled_by_buyer + summary.payment_failed);
    expect(db.expired ?? 0).toBe(summary.expired);
    expect(summary.paid + summary.cancelled + summary.expired).toBe(summary.reservations);
    await expectUnits(stack, summary, stderr);
    expect(summary.units.sold).toBe(summary.paid);
    // with these shares every kind of ending happened
    expect(summary.paid).toBeGreaterThan(0);
    expect(summary.payment_failed).toBeGreaterThan(0);
    expect(summary.expired).toBeGreaterThan(0);
    // this server has POST /api/orders/{id}/cancel: buyers who meant to cancel did
    expect(summary.cancel_available).toBe(true);
    expect(summary.cancelled_by_buyer).toBeGreaterThan(0);

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
    const access = await runDemo(stack.baseUrl, ["--access", "lottery"]);
    expect([access.code, /--access must be open or queue/.test(access.stderr)]).toEqual([2, true]);
    const { rows } = await stack.db.query<{ n: number }>("select count(*)::int as n from products where name like 'Demo drop%'");
    expect(rows[0].n).toBe(1);
  }, 30_000);
});

/**
 * The 1-in-`1 / p` upper bound of the successes in `n` draws without replacement from `total`
 * of which `marked` are marked (the hypergeometric law): the most a fair draw gives them.
 */
function hypergeometricUpper(total: number, marked: number, n: number, p: number): number {
  const lnFact = (k: number) => { let s = 0; for (let i = 2; i <= k; i++) s += Math.log(i); return s; };
  const lnChoose = (a: number, b: number) => lnFact(a) - lnFact(b) - lnFact(a - b);
  let tail = 0;
  for (let k = Math.min(marked, n); k >= 0; k--) {
    if (n - k > total - marked) continue;
    tail += Math.exp(lnChoose(marked, k) + lnChoose(total - marked, n - k) - lnChoose(total, n));
    if (tail > p) return k;
  }
  return 0;
}

describe("npm run demo against the default reservation time (600 s)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SWEEP_INTERVAL_MS: "250" });
  });
  afterAll(() => stack?.stop());

  test("the settling ends once every paid, failed and cancelled order is final: walk-aways are reported awaiting payment, not waited for", async () => {
    const { code, stdout, stderr } = await runDemo(stack.baseUrl, []); // the default --max-wait
    expect([code, stderr.match(/^.*(error|Error).*$/m)?.[0] ?? null]).toEqual([0, null]);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
    const { rows } = await stack.db.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from orders where product_id = $1 group by status", [summary.product_id]);
    const db = Object.fromEntries(rows.map((r) => [r.status, r.n]));

    // what makes it short: the orders that end now all ended, and the run is over while the
    // walk-aways' reservations still hold their units
    expect([summary.settled, summary.unsettled, summary.expired]).toEqual([true, 0, 0]);
    expect(summary.awaiting_payment).toBeGreaterThan(0);
    expect((db.pending ?? 0) + (db.reserved ?? 0)).toBe(summary.awaiting_payment);
    expect(Date.parse(summary.back_on_sale_at)).toBeGreaterThan(Date.now() + 500_000);
    expect(stderr).toContain(`${summary.awaiting_payment} winner(s) walked away`);
    expect(db.paid ?? 0).toBe(summary.paid);
    expect(db.cancelled ?? 0).toBe(summary.cancelled);
    expect(summary.paid + summary.cancelled + summary.awaiting_payment).toBe(summary.reservations);

    await expectUnits(stack, summary, stderr);
    expect(summary.units.sold).toBe(summary.paid + summary.awaiting_payment);
    expect(unitsInWords(stderr).soldRow).toBe(`${summary.units.sold} (${summary.paid} paid, ${summary.awaiting_payment} awaiting payment)`);
  }, 90_000);

  test("--access queue: the same drop open, then through a line; the scripts win their number of units open, no more than chance through the line, and their refusals are counted by code", async () => {
    const { code, stdout, stderr } = await runDemo(stack.baseUrl, [
      "--access", "queue", "--buyers", "200", "--stock", "50", "--scripts", "0.2", "--opens-in", "3", "--spread", "1", "--concurrency", "100"]);
    expect([code, stderr.match(/^.*(error|Error).*$/m)?.[0] ?? null]).toEqual([0, null]);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(summary).toMatchObject({ access: "queue", buyers: 200, scripts: 40, people: 160, stock: 50, scripts_share_of_buyers: 0.2 });
    const { open, line } = summary;

    // open: the scripts press first, so every one of them won a unit
    expect(open.units.scripts).toBe(40);
    expect(open.units.scripts + open.units.people).toBe(open.reservations);
    expect(open.reservations).toBeGreaterThanOrEqual(50);
    expect(open.scripts_share_of_units).toBeCloseTo(40 / open.reservations, 10);
    expect(open.refused.scripts.SALE_NOT_ACTIVE).toBeGreaterThan(0);

    // through the line: the scripts joined first, so all 40 places were drawn with the
    // people's who joined before the opening (a person whose join landed after it queues
    // behind them); the scripts won no more than a fair draw of the places admitted gives
    // them (at 1 in 10,000)
    const { early_joiners: early, late_joiners: late, admitted } = line.line;
    expect(line.line).toMatchObject({ joined: 200, settled: true });
    expect(late.scripts).toBe(0);
    expect(early + late.people).toBe(200);
    expect(line.reservations).toBe(admitted);
    expect(line.units.scripts + line.units.people).toBe(line.reservations);
    expect(line.units.scripts).toBeLessThanOrEqual(hypergeometricUpper(early, 40, Math.min(admitted, early), 1e-4));
    expect(line.scripts_share_of_units).toBeLessThan(open.scripts_share_of_units - 0.2);
    // what the scripts tried: orders without an entry (5 each at most), one forgery each and,
    // for those admitted, their entry again (used) and lent to another script (not theirs)
    expect(line.refused.scripts.ENTRY_REQUIRED).toBeGreaterThan(0);
    expect(line.refused.scripts.ENTRY_REQUIRED).toBeLessThanOrEqual(5 * 40);
    expect(line.refused.scripts.ENTRY_USED).toBe(line.units.scripts);
    expect(line.refused.scripts.ENTRY_INVALID).toBe(40 + line.units.scripts);
    expect(Object.keys(line.refused.scripts).sort()).toEqual(["ENTRY_INVALID", "ENTRY_REQUIRED", "ENTRY_USED"]);
    expect(line.refused.people).toEqual({});

    // the database agrees: the line's orders, by scripts and by people
    const { rows } = await stack.db.query<{ scripts: number; people: number }>(
      "select count(*) filter (where user_id like '%-script-%')::int as scripts, count(*) filter (where user_id like '%-person-%')::int as people from orders where product_id = $1",
      [line.product_id]);
    expect(rows[0]).toEqual(line.units);
    expect([summary.audit_ok, summary.products_consistent]).toEqual([true, true]);

    // in words: the shares side by side, the refusals by code
    const row = (name: string) => new RegExp(`^  ${name} +(.+)$`, "m").exec(stderr)?.[1].trim().split(/ {2,}/);
    const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    expect(row("scripts' share of units")).toEqual([pct(open.scripts_share_of_units), pct(line.scripts_share_of_units)]);
    expect(row("scripts refused ENTRY_USED")).toEqual(["0", String(line.units.scripts)]);
  }, 120_000);
});
