/**
 * `npm run demo`: a scripted flash sale against a running stack (`npm start`, the
 * local cluster, or docker-compose behind --url). It creates a product whose sale
 * opens in a few seconds, lets thousands of buyers press "buy" at the opening (a few
 * eager ones a second early), and plays the payment provider and the winners right
 * after each 202: most pay (signed webhooks), some payments fail, some cancel, the rest let
 * their reservation expire (the server's RESERVATION_TTL_SECONDS). It waits until every
 * order that ends now has its final status (paid, payment failed, cancelled), and the
 * walk-aways' too when their reservations expire within --max-wait; later ones are
 * reported as awaiting payment, with the time their units go back on sale. Then a summary:
 * units sold, resold (given back during the drop and sold again) and left, paid,
 * cancelled, expired, refused by code, p50/p99 of POST /api/orders, the audit's verdict.
 *
 *   npm run demo                          3,000 buyers, 500 units, opens in 5 s
 *   npm run demo -- --buyers 200 --stock 50 --opens-in 2 --json
 *   npm run demo -- --url http://127.0.0.1:8080 --max-wait 900
 *   npm run demo -- --access queue        the same drop open, then through a line (./demo-line.ts)
 *
 * Options: --url (http://127.0.0.1:$PORT), --buyers, --stock, --opens-in <s>,
 * --concurrency, --pay/--fail/--cancel <fraction of winners> (the rest expire),
 * --early <fraction of buyers pressing a second before the opening>, --seed,
 * --max-wait <s> (wait for reservations that expire within this, 30 by default),
 * --json (the summary as JSON on stdout).
 * With --access queue (open by default): --scripts <fraction of buyers that are scripts,
 * 0.1>, --spread <s: people arrive over this before the opening, 3>; the summary sets the
 * scripts' share of units against their share of buyers, open and through the line, and
 * counts their refused attempts by code.
 * ADMIN_TOKEN and WEBHOOK_SECRET come from the environment, as for the server.
 * Expiry is the server's RESERVATION_TTL_SECONDS (600 by default, beyond --max-wait: the
 * demo does not wait for it): start the stack with RESERVATION_TTL_SECONDS=20 to see the
 * unpaid ones expire during the demo.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { loadConfig } from "../src/lib/config.ts";
import { mapLimit } from "../src/lib/concurrency.ts";
import { paymentEvent, sendPaymentEvent } from "../src/lib/payment-provider.ts";
import { FINAL, playLineDemo, quantile, sleepUntil, type Fate, type LineDemoSummary } from "./demo-line.ts";

/** statuses that gave the order's units back */
const GIVEN_BACK = new Set(["cancelled", "expired", "rejected"]);
const POLL_MS = 500;
/** after the last awaited expiry (the sweeper's interval) or a payment, how long a final status may take */
const SETTLE_GRACE_MS = 30_000;

const config = loadConfig({ ...process.env, SERVICES: "none" });
const { values: opt } = parseArgs({
  options: {
    url: { type: "string", default: process.env.BASE_URL ?? `http://127.0.0.1:${config.port}` },
    buyers: { type: "string", default: "3000" },
    stock: { type: "string", default: "500" },
    "opens-in": { type: "string", default: "5" },
    concurrency: { type: "string", default: "100" },
    pay: { type: "string", default: "0.7" },
    fail: { type: "string", default: "0.1" },
    cancel: { type: "string", default: "0.1" },
    early: { type: "string", default: "0.02" },
    seed: { type: "string", default: "42" },
    "max-wait": { type: "string", default: "30" },
    json: { type: "boolean", default: false },
    access: { type: "string", default: "open" },
    scripts: { type: "string", default: "0.1" },
    spread: { type: "string", default: "3" },
  },
});

function num(name: keyof typeof opt, min: number, max: number): number {
  const n = Number(opt[name]);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`--${name} must be a number in [${min}, ${max}], got "${opt[name]}"`);
    process.exit(2);
  }
  return n;
}

const base = String(opt.url).replace(/\/$/, "");
const buyers = Math.floor(num("buyers", 1, 1_000_000));
const stock = Math.floor(num("stock", 1, 1_000_000));
const opensIn = num("opens-in", 1, 3600);
const concurrency = Math.floor(num("concurrency", 1, 5000));
const share = { pay: num("pay", 0, 1), fail: num("fail", 0, 1), cancel: num("cancel", 0, 1) };
if (share.pay + share.fail + share.cancel > 1) {
  console.error("--pay + --fail + --cancel must be at most 1 (the rest expire)");
  process.exit(2);
}
const early = Math.floor(buyers * num("early", 0, 1));
const maxWaitMs = num("max-wait", 0, 86_400) * 1000;
const access = String(opt.access);
if (access !== "open" && access !== "queue") {
  console.error(`--access must be open or queue, got "${access}"`);
  process.exit(2);
}
const scriptsShare = num("scripts", 0, 1);
const spreadSeconds = num("spread", 0, 3600);
const say = (line = "") => (opt.json ? process.stderr : process.stdout).write(line + "\n");

/** mulberry32: the same --seed gives every winner the same fate on every run */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Won {
  order_id: string;
  amount_cents: number;
  expires_at: string;
  fate: Fate;
  status: string;
  /** when the press was sent and its 202 received: the server's TTL lies between expires_at minus each */
  sentAt: number;
  receivedAt: number;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

const admin = { authorization: `Bearer ${config.adminToken}` };

function bar(title: string, total: number) {
  const b = new cliProgress.SingleBar(
    { format: `${title.padEnd(10)} {bar} {value}/{total} {detail}`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { detail: "" });
  return b;
}

// what every drop shares: the fates of winners (the same --seed, the same fates)
const rand = random(Number(opt.seed));
const fateOf = (): Fate => {
  const r = rand();
  return r < share.pay ? "pay" : r < share.pay + share.fail ? "fail" : r < share.pay + share.fail + share.cancel ? "cancel" : "expire";
};

// what a winner does right after the 202: pays (the provider says succeeded or failed),
// cancels, or walks away and lets the reservation expire
let cancelAvailable = true;
let cancelUnavailable = 0;
const paid = { sent: 0 };
async function afterWinning(o: Pick<Won, "order_id" | "amount_cents" | "fate">): Promise<void> {
  if (o.fate === "pay" || o.fate === "fail") {
    const r = await sendPaymentEvent(base, config.webhookSecret, paymentEvent(o.order_id, o.fate === "pay" ? "succeeded" : "failed", o.amount_cents));
    if (r.status !== 200 && r.status !== 202) say(`webhook for ${o.order_id}: ${r.status} ${r.text}`);
    paid.sent++;
  } else if (o.fate === "cancel") {
    if (!cancelAvailable) {
      cancelUnavailable++;
      o.fate = "expire";
      return;
    }
    const r = await call("POST", `/api/orders/${o.order_id}/cancel`);
    if (r.status === 404 && r.body?.error?.code === "NOT_FOUND") {
      // this server has no cancel route yet: the order is left to expire
      cancelAvailable = false;
      cancelUnavailable++;
      o.fate = "expire";
    } else if (r.status !== 200) {
      say(`cancel ${o.order_id}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  }
}

/** The drop sold open: `npm run demo`. */
async function playOpen(): Promise<void> {
  // 1. the product: on sale in a few seconds, one unit per buyer
  const opensAt = new Date(Date.now() + opensIn * 1000);
  const created = await call("POST", "/api/admin/products", {
    name: `Demo drop ${opensAt.toISOString().slice(11, 19)}`,
    price_cents: 4900,
    stock,
    sale_starts_at: opensAt.toISOString(),
    per_user_limit: 1,
    max_per_order: 1,
  }, admin);
  if (created.status !== 201) {
    console.error(`creating the product: ${created.status} ${JSON.stringify(created.body)} (is the stack running at ${base}, with this ADMIN_TOKEN?)`);
    process.exit(1);
  }
  const productId = created.body.id as number;
  say(`product ${productId}: ${stock} units, on sale at ${opensAt.toISOString()} (in ${opensIn} s); ${buyers} buyers`);
  say(`watch it live: ${base}/dashboard`);

  // 2. the drop: eager buyers a second early (refused: the sale is not open), then everyone
  const answers: Record<string, number> = {};
  const refused: Record<string, number> = {};
  const latencies: number[] = [];
  const won: Won[] = [];
  async function press(buyer: number): Promise<void> {
    const started = performance.now();
    const sentAt = Date.now();
    let r;
    try {
      r = await call("POST", "/api/orders", { product_id: productId, qty: 1, user_id: `demo-${productId}-${buyer}` }, { "idempotency-key": randomUUID() });
    } catch {
      // connection refused or reset: counted, the demo goes on
      refused.NETWORK_ERROR = (refused.NETWORK_ERROR ?? 0) + 1;
      return;
    }
    latencies.push(performance.now() - started);
    answers[r.status] = (answers[r.status] ?? 0) + 1;
    if (r.status === 202) {
      won.push({
        order_id: r.body.order_id, amount_cents: r.body.amount_cents, expires_at: r.body.expires_at, fate: fateOf(), status: r.body.status,
        sentAt, receivedAt: Date.now(),
      });
      await afterWinning(won[won.length - 1]);
    } else {
      const code = r.body?.error?.code ?? `HTTP_${r.status}`;
      refused[code] = (refused[code] ?? 0) + 1;
    }
  }

  await sleepUntil(opensAt.getTime() - 1000);
  const eager = Array.from({ length: early }, (_, i) => i);
  await mapLimit(eager, concurrency, (i) => press(i));
  await sleepUntil(opensAt.getTime() + 50);
  const dropStarted = Date.now();
  const drop = bar("buying", buyers);
  await mapLimit(Array.from({ length: buyers }, (_, i) => i), concurrency, async (i) => {
    await press(i);
    drop.increment(1, { detail: `sold ${won.length}, payments sent ${paid.sent}` });
  });
  drop.stop();
  const dropSeconds = (Date.now() - dropStarted) / 1000;

  // the server's RESERVATION_TTL_SECONDS, bracketed by the fastest answered 202
  const fastest = won.reduce<Won | null>((b, o) => (!b || o.receivedAt - o.sentAt < b.receivedAt - b.sentAt ? o : b), null);
  const ttlBounds = fastest ? [(Date.parse(fastest.expires_at) - fastest.receivedAt) / 1000, (Date.parse(fastest.expires_at) - fastest.sentAt) / 1000] : null;
  const ttlSeconds = ttlBounds ? Math.round((ttlBounds[0] + ttlBounds[1]) / 2) : null;
  say(`${won.length} reservations won in ${dropSeconds.toFixed(1)} s for ${stock} units` +
    `${won.length > stock ? ` (${won.length - stock} of them units given back during the drop and sold again)` : ""}; ` +
    `unpaid reservations expire after the server's RESERVATION_TTL_SECONDS ≈ ${ttlSeconds ?? "?"} s`);

  if (!cancelAvailable) say(`cancel not available on this server (POST /api/orders/{id}/cancel → 404): ${cancelUnavailable} buyer(s) who meant to cancel let their order expire`);

  // 4. settle: wait until every order that ends now (paid, payment failed, cancelled) has
  // its final status, and the walk-aways' too if their reservations expire within
  // --max-wait (expiry is the sweeper's, after the TTL). The wait ends when that is so;
  // the later walk-aways are reported as awaiting payment, not waited for.
  const expiryWaitEnds = Date.now() + maxWaitMs;
  const awaited = won.filter((o) => o.fate !== "expire" || Date.parse(o.expires_at) <= expiryWaitEnds);
  const notAwaited = won.filter((o) => !awaited.includes(o));
  const lastExpiry = Math.max(0, ...awaited.filter((o) => o.fate === "expire").map((o) => Date.parse(o.expires_at)));
  const giveUpAt = Math.max(Date.now(), lastExpiry) + SETTLE_GRACE_MS;
  const backOnSaleAt = notAwaited.length > 0 ? new Date(Math.max(...notAwaited.map((o) => Date.parse(o.expires_at)))) : null;
  if (backOnSaleAt) {
    say(`${notAwaited.length} winner(s) walked away: their reservations expire after --max-wait (at the latest ${backOnSaleAt.toISOString()}), so they are reported as awaiting payment`);
  }
  const waiting = bar("settling", awaited.length);
  const openOf = (list: Won[]) => list.filter((o) => !FINAL.has(o.status));
  for (;;) {
    await mapLimit(openOf(won), 32, async (o) => {
      const r = await call("GET", `/api/orders/${o.order_id}`);
      if (r.status === 200) o.status = r.body.status;
    });
    const open = openOf(awaited).length;
    const expiresIn = Math.max(0, Math.ceil((lastExpiry - Date.now()) / 1000));
    waiting.update(awaited.length - open, { detail: expiresIn > 0 ? `expiry in ${expiresIn} s` : "" });
    if (open === 0 || Date.now() > giveUpAt) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  waiting.stop();
  const settled = openOf(awaited).length === 0;

  // the units: sold (paid, or held awaiting payment) + left = the stock; a unit given back
  // (cancelled, payment failed, expired) and bought again counts once in sold, and apart as resold
  const unitsSold = won.filter((o) => !GIVEN_BACK.has(o.status)).length;
  const unitsResold = Math.max(0, won.length - stock);
  // what the shop says is left, once its inventory has taken back every unit given back
  let unitsLeft: number | null = null;
  const leftBy = Date.now() + 5000;
  for (;;) {
    const r = await call("GET", `/api/products/${productId}`);
    unitsLeft = r.status === 200 ? (r.body.stock_available as number) : null;
    if (unitsLeft === stock - unitsSold || Date.now() > leftBy) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }

  // 5. the audit and the summary
  const audit = await call("GET", "/api/admin/audit", undefined, admin);
  const productAudit = audit.status === 200 ? (audit.body.products as Array<{ id: number; consistent: boolean }>).find((p) => p.id === productId) : undefined;
  const count = (pred: (o: Won) => boolean) => won.filter(pred).length;
  const sorted = latencies.sort((a, b) => a - b);
  const summary = {
    product_id: productId,
    buyers,
    early_presses: early,
    stock,
    reservation_ttl_seconds: ttlSeconds,
    reservation_ttl_bounds: ttlBounds,
    reservations: won.length,
    units: { total: stock, sold: unitsSold, resold: unitsResold, left: unitsLeft },
    paid: count((o) => o.status === "paid"),
    cancelled: count((o) => o.status === "cancelled"),
    cancelled_by_buyer: count((o) => o.status === "cancelled" && o.fate === "cancel"),
    payment_failed: count((o) => o.status === "cancelled" && o.fate === "fail"),
    expired: count((o) => o.status === "expired"),
    rejected: count((o) => o.status === "rejected"),
    /** walk-aways whose reservations expire after --max-wait: not waited for */
    awaiting_payment: count((o) => !FINAL.has(o.status) && notAwaited.includes(o)),
    back_on_sale_at: backOnSaleAt?.toISOString() ?? null,
    /** every awaited order reached its final status (false: the wait gave up) */
    settled,
    unsettled: count((o) => !FINAL.has(o.status) && awaited.includes(o)),
    cancel_available: cancelAvailable,
    refused,
    answers,
    latency_ms: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
    audit_ok: audit.status === 200 ? audit.body.ok === true : null,
    product_consistent: productAudit?.consistent ?? null,
    dashboard: `${base}/dashboard`,
  };

  // the summary in words (on stderr with --json, which prints it as JSON on stdout)
  {
    const ms = (v: number | null) => (v === null ? "–" : `${v.toFixed(1)} ms`);
    const time = (iso: string) => new Date(iso).toLocaleTimeString();
    const rows: Array<[string, string | number]> = [
      ["buyers", buyers],
      ["units in stock", stock],
      ["units sold", `${unitsSold} (${summary.paid} paid${summary.awaiting_payment > 0 ? `, ${summary.awaiting_payment} awaiting payment` : ""})`],
      ["units left", unitsLeft === null ? "unknown (the product could not be read)"
        : unitsSold + unitsLeft === stock ? unitsLeft : `${unitsLeft}, says the shop (${stock - unitsSold} expected)`],
      ["units resold", unitsResold > 0 ? `${unitsResold} (given back during the drop and bought again: ${won.length} reservations for ${stock} units)` : "none"],
      ["reservations won (202)", summary.reservations],
      ["paid", summary.paid],
      ["awaiting payment", summary.awaiting_payment > 0 ? `${summary.awaiting_payment} (back on sale by ${time(summary.back_on_sale_at!)} unless paid)` : 0],
      ["cancelled: payment failed", summary.payment_failed],
      ["cancelled: by the buyer", cancelAvailable ? summary.cancelled_by_buyer : "cancel not available"],
      ["expired", summary.expired],
      ["rejected (database gate)", summary.rejected],
      ...(summary.unsettled > 0 ? [["not settled in time", summary.unsettled] as [string, number]] : []),
      ...Object.entries(refused).sort().map(([code, n]) => [`refused ${code}`, n] as [string, number]),
      ["p50 / p99 POST /api/orders", `${ms(summary.latency_ms.p50)} / ${ms(summary.latency_ms.p99)}`],
      ["audit ok", summary.audit_ok === null ? `unavailable (${audit.status})` : `${summary.audit_ok} (this product consistent: ${summary.product_consistent})`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    say("");
    for (const [k, v] of rows) say(`  ${k.padEnd(w)}  ${v}`);
    say(`\nthe dashboard: ${summary.dashboard}`);
  }
  if (opt.json) process.stdout.write(JSON.stringify(summary) + "\n");
}

/** The same drop sold open, then through a line: `npm run demo -- --access queue` (./demo-line.ts). */
async function playBothWays(): Promise<void> {
  say(`the same drop sold open, then through a line: ${buyers} buyers (${Math.round(scriptsShare * 100)}% scripts), ${stock} units`);
  say(`watch it live: ${base}/dashboard`);
  let summary: LineDemoSummary;
  try {
    summary = await playLineDemo({
      base, admin, buyers, scripts: scriptsShare, stock, opensIn, spreadSeconds, concurrency, rand, fateOf, afterWinning, say, maxWaitMs,
    });
  } catch (err) {
    console.error(`${(err as Error).message} (is the stack running at ${base}, with this ADMIN_TOKEN?)`);
    process.exit(1);
  }
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const { open, line } = summary;
  const codes = (group: "scripts" | "people") => [...new Set([...Object.keys(open.refused[group]), ...Object.keys(line.refused[group])])].sort();
  const refusals = (group: "scripts" | "people") => codes(group).map((code): [string, string, string] =>
    [`${group} refused ${code}`, String(open.refused[group][code] ?? 0), String(line.refused[group][code] ?? 0)]);
  const rows: Array<[string, string, string]> = [
    ["", "open", "through a line"],
    ["product", String(open.product_id), String(line.product_id)],
    ["units won (202)", String(open.reservations), String(line.reservations)],
    ["units won by scripts", String(open.units.scripts), String(line.units.scripts)],
    ["units won by people", String(open.units.people), String(line.units.people)],
    ["scripts' share of units", pct(open.scripts_share_of_units), pct(line.scripts_share_of_units)],
    ["scripts' share of buyers", `${pct(summary.scripts_share_of_buyers)} (${summary.scripts} of ${buyers})`, "the same"],
    ...refusals("scripts"),
    ...refusals("people"),
    ["joined the line", "–", String(line.line.joined)],
    ["joined after the opening", "–", `${line.line.late_joiners.scripts + line.line.late_joiners.people} (${line.line.late_joiners.scripts} scripts: behind the drawn ones)`],
    ["admitted", "–", String(line.line.admitted)],
    ["still waiting at the end", "–", `${line.line.waiting_at_end}${line.line.waiting_at_end > 0 ? " (units held unpaid may come back to them)" : ""}`],
  ];
  const w = rows.map(([k]) => k.length).reduce((a, b) => Math.max(a, b));
  const w2 = rows.map(([, v]) => v.length).reduce((a, b) => Math.max(a, b));
  say("");
  for (const [k, a, b] of rows) say(`  ${k.padEnd(w)}  ${a.padStart(w2)}  ${b}`);
  const ms = (v: number | null) => (v === null ? "–" : `${v.toFixed(1)} ms`);
  say(`  ${"p50 / p99 POST /api/orders".padEnd(w)}  ${ms(summary.latency_ms.p50)} / ${ms(summary.latency_ms.p99)}`);
  say(`  ${"audit ok".padEnd(w)}  ${summary.audit_ok === null ? "unavailable" : `${summary.audit_ok} (these products consistent: ${summary.products_consistent})`}`);
  if (!line.line.settled) say(`\nthe line did not come to rest within --max-wait`);
  say(`\nthe dashboard: ${base}/dashboard`);
  if (opt.json) process.stdout.write(JSON.stringify({ ...summary, dashboard: `${base}/dashboard` }) + "\n");
}

if (access === "queue") await playBothWays();
else await playOpen();
