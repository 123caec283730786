/**
 * `npm run demo -- --access queue` (./demo.ts): one drop played twice against a running
 * stack, first sold open (first come, as the plain demo sells it), then through a line
 * (API.md, "Fair access"), with the same buyers: a share of them scripts, the rest people.
 *
 * Scripts are fast and stubborn. Open: they press from a second before the opening, every
 * 100 ms, until the sale answers. Through the line: they join at the first instant the
 * line opens, hammer POST /api/orders without an entry from the opening, forge an
 * entry (signed with a guessed key), poll their ticket every 500 ms, order the moment
 * they are admitted, then reuse their entry for a second order and lend it to another
 * script. People arrive spread over the last seconds before the opening: open, they press
 * buy once it opens (after a human's reaction); through the line, they join when they
 * arrive and follow their ticket (three in four its event stream, the others polling it
 * every 2 s),
 * ordering with their entry when admitted. Every winner then pays, fails, cancels or
 * walks away as in the plain demo.
 *
 * The report: for each way of selling, the units the scripts won against their share of
 * the buyers, and their attempts refused, by code (ENTRY_REQUIRED, ENTRY_INVALID,
 * ENTRY_USED through the line).
 *
 * Each buyer sends from a loopback address of its own when the stack is on a 127.x
 * address (joins count against the client address's rate limit, as they would from
 * many homes); against another host every buyer shares this machine's address.
 */
import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import { EntryTokens } from "../src/domain/entry-token.ts";

export type Fate = "pay" | "fail" | "cancel" | "expire";
export type Group = "scripts" | "people";

/** What the demo hands this drop: the stack, the crowd, and what a winner does after the 202. */
export interface LineDemoSettings {
  base: string;
  admin: Record<string, string>;
  buyers: number;
  /** the share of the buyers that are scripts */
  scripts: number;
  stock: number;
  opensIn: number;
  /** people arrive over this many seconds before the opening */
  spreadSeconds: number;
  concurrency: number;
  rand: () => number;
  fateOf: () => Fate;
  afterWinning: (o: { order_id: string; amount_cents: number; fate: Fate }) => Promise<void>;
  say: (line?: string) => void;
  /** how long to wait, after the opening, for the line to come to rest */
  maxWaitMs: number;
}

export interface DropReport {
  access: "open" | "queue";
  product_id: number;
  /** 202s (one unit each); more than the stock when units given back were won again */
  reservations: number;
  units: Record<Group, number>;
  /** the scripts' share of the units won (0..1) */
  scripts_share_of_units: number;
  /** refused attempts by code, per group */
  refused: Record<Group, Record<string, number>>;
}

export interface LineReport extends DropReport {
  line: {
    joined: number;
    /** the tickets whose places were drawn (joined before the opening) */
    early_joiners: number | null;
    /** those who joined after the opening, queued in arrival order behind the drawn ones */
    late_joiners: Record<Group, number>;
    admitted: number;
    waiting_at_end: number;
    settled: boolean;
  };
}

export interface LineDemoSummary {
  access: "queue";
  buyers: number;
  scripts: number;
  people: number;
  stock: number;
  scripts_share_of_buyers: number;
  open: DropReport;
  line: LineReport;
  latency_ms: { p50: number | null; p99: number | null };
  audit_ok: boolean | null;
  products_consistent: boolean | null;
}

interface Reply {
  status: number;
  body: any;
}

/** an order's statuses that do not change any more */
export const FINAL = new Set(["paid", "cancelled", "expired", "rejected"]);
/** a ticket that will not be admitted any more */
const TICKET_DONE = new Set(["used", "expired", "lost", "left"]);
export const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
/** beyond the server's own request timeout: a request that gets no answer is counted as a network error */
const REQUEST_TIMEOUT_MS = 30_000;
/** the presses a script sends without an entry from the opening, 200 ms apart */
const HAMMER_PRESSES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a key nobody but the service knows: what a script signs its forgeries with */
const GUESSED_KEY = "flash-sale-entry-token-secret-guess!";

/** The q-quantile of sorted values (null for none). */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** At most `limit` requests in flight, served in the order asked. */
function limiter(limit: number) {
  let running = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

export async function playLineDemo(s: LineDemoSettings): Promise<LineDemoSummary> {
  const url = new URL(s.base);
  const client = url.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const ownAddresses = /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  /** buyer i's address: 127.1.0.1, 127.1.0.2, … (all of 127/8 is this machine) */
  const addressOf = (i: number) => (ownAddresses ? `127.${1 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}` : undefined);
  const inFlight = limiter(s.concurrency);
  const latencies: number[] = [];

  function send(i: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return inFlight(() => new Promise<Reply>((resolve) => {
      const started = performance.now();
      const req = client.request(new URL(path, url), {
        method, agent, localAddress: addressOf(i),
        headers: { ...(payload === undefined ? {} : { "content-type": "application/json" }), ...headers },
      }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          if (path === "/api/orders") latencies.push(performance.now() - started);
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      // connection refused or reset: counted as such, the demo goes on
      req.on("error", () => resolve({ status: 0, body: { error: { code: "NETWORK_ERROR" } } }));
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy());
      req.end(payload);
    }));
  }

  /** Follows a ticket's event stream, calling `onTicket` with each state; returns the closer. */
  function follow(i: number, path: string, onTicket: (t: any) => void): () => void {
    let closed = false;
    let req: http.ClientRequest | undefined;
    const open = () => {
      if (closed) return;
      req = client.get(new URL(path, url), { localAddress: addressOf(i), headers: { accept: "text/event-stream" } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return void setTimeout(open, 1000);
        }
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          buffer += c;
          for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
            const frame = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
            if (/^event: ?ticket$/m.test(frame) && data) onTicket(JSON.parse(data));
          }
        });
        // a stream that hands over (or a gateway that restarts) is opened again; one closed here ends
        res.on("end", () => setTimeout(open, 100));
        res.on("error", () => undefined);
      });
      req.on("error", () => setTimeout(open, 1000));
    };
    open();
    return () => {
      closed = true;
      req?.destroy();
    };
  }

  const nScripts = Math.round(s.buyers * s.scripts);
  const groupOf = (i: number): Group => (i < nScripts ? "scripts" : "people");
  const tag = randomUUID().slice(0, 8);
  const userOf = (i: number) => `${tag}-${groupOf(i) === "scripts" ? "script" : "person"}-${i}`;
  const everyone = Array.from({ length: s.buyers }, (_, i) => i);
  /** when each person arrives, in ms before the opening (the last second kept for their join to land) */
  const arrival = everyone.map(() => 1000 + s.rand() * s.spreadSeconds * 1000);
  /** how long each person takes to act once they may */
  const reaction = everyone.map(() => 300 + s.rand() * 1200);
  const pending: Array<Promise<void>> = [];
  const winners: Array<{ order_id: string; amount_cents: number; fate: Fate; status: string }> = [];

  async function create(access: "open" | "queue", opensAt: number): Promise<number> {
    const r = await send(0, "POST", "/api/admin/products", {
      name: `Demo drop ${new Date(opensAt).toISOString().slice(11, 19)} (${access === "open" ? "open" : "through a line"})`,
      price_cents: 4900, stock: s.stock, sale_starts_at: new Date(opensAt).toISOString(), per_user_limit: 1, max_per_order: 1,
      ...(access === "queue" ? { access } : {}),
    }, s.admin);
    if (r.status !== 201) throw new Error(`creating the ${access} product: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  }

  function report(access: "open" | "queue", productId: number) {
    const r: DropReport = {
      access, product_id: productId, reservations: 0, units: { scripts: 0, people: 0 }, scripts_share_of_units: 0,
      refused: { scripts: {}, people: {} },
    };
    /** an order's answer: a win is a unit (and the winner's fate), anything else a refusal by code */
    const answer = (i: number, reply: Reply): boolean => {
      if (reply.status === 202) {
        r.reservations++;
        r.units[groupOf(i)]++;
        const won = { order_id: reply.body.order_id as string, amount_cents: reply.body.amount_cents as number, fate: s.fateOf(), status: reply.body.status as string };
        winners.push(won);
        // the fate may change (a cancel this server cannot do is left to expire)
        pending.push(s.afterWinning(won));
        return true;
      }
      const code = reply.body?.error?.code ?? `HTTP_${reply.status}`;
      r.refused[groupOf(i)][code] = (r.refused[groupOf(i)][code] ?? 0) + 1;
      return false;
    };
    const done = () => {
      r.scripts_share_of_units = r.reservations === 0 ? 0 : r.units.scripts / r.reservations;
      return r;
    };
    return { report: r, answer, done };
  }

  const order = (i: number, productId: number, headers: Record<string, string> = {}) =>
    send(i, "POST", "/api/orders", { product_id: productId, qty: 1, user_id: userOf(i) }, { "idempotency-key": randomUUID(), ...headers });

  // 1. open: scripts press from a second early until the sale answers; people press once, after the opening
  const openAt = Date.now() + s.opensIn * 1000;
  const openId = await create("open", openAt);
  s.say(`open: product ${openId}, ${s.stock} units, on sale at ${new Date(openAt).toISOString()}; ${nScripts} scripts and ${s.buyers - nScripts} people`);
  const open = report("open", openId);
  await Promise.all(everyone.map(async (i) => {
    if (groupOf(i) === "scripts") {
      await sleepUntil(openAt - 1000);
      for (;;) {
        const r = await order(i, openId);
        open.answer(i, r);
        if (r.body?.error?.code !== "SALE_NOT_ACTIVE") return;
        await sleep(100);
      }
    }
    await sleepUntil(openAt + reaction[i]);
    open.answer(i, await order(i, openId));
  }));
  const openReport = open.done();
  s.say(`open: ${openReport.reservations} units won, ${openReport.units.scripts} of them by scripts`);

  // 2. through a line: the line opens now, its order is drawn at the opening (once the
  // open drop's payments are sent: the second drop does not wait on the first)
  await Promise.all(pending);
  const lineAt = Date.now() + s.opensIn * 1000;
  const lineId = await create("queue", lineAt);
  s.say(`through a line: product ${lineId}, ${s.stock} units, the line open now, its order drawn at ${new Date(lineAt).toISOString()}`);
  const line = report("queue", lineId);
  const entries = new Map<number, string>();
  /** tickets seen admitted, and those whose buyer is done with the entry (ordered, or refused) */
  const seenAdmitted = new Set<number>();
  const acted = new Set<number>();
  const status = new Map<number, string>();
  const joinNumber = new Map<number, number>();
  /** what the admitted are doing with their entries: waited for before the counts are final */
  const acting: Array<Promise<void>> = [];
  let over = false;

  const onAdmitted = async (i: number, ticket: any, delay: number) => {
    if (seenAdmitted.has(i)) return;
    seenAdmitted.add(i);
    entries.set(i, ticket.entry_token);
    await sleep(delay);
    line.answer(i, await order(i, lineId, { "entry-token": ticket.entry_token }));
    if (groupOf(i) === "scripts") {
      // the same entry again, for a second order; then lent to another script
      line.answer(i, await order(i, lineId, { "entry-token": ticket.entry_token }));
      const other = (i + 1) % nScripts;
      if (other !== i) line.answer(other, await order(other, lineId, { "entry-token": ticket.entry_token }));
    }
    acted.add(i);
  };
  const seen = (i: number, ticket: any) => {
    status.set(i, ticket.status);
    if (ticket.status === "admitted") acting.push(onAdmitted(i, ticket, groupOf(i) === "scripts" ? 0 : reaction[i]));
  };
  const poll = async (i: number, ticketId: string, everyMs: number) => {
    while (!over && !TICKET_DONE.has(status.get(i) ?? "waiting") && !seenAdmitted.has(i)) {
      const r = await send(i, "GET", `/api/products/${lineId}/queue/${ticketId}`);
      if (r.status === 200) seen(i, r.body);
      await sleep(everyMs);
    }
  };

  const closers: Array<() => void> = [];
  const joined = await Promise.all(everyone.map(async (i): Promise<boolean> => {
    const script = groupOf(i) === "scripts";
    if (!script) await sleepUntil(lineAt - arrival[i]);
    const j = await send(i, "POST", `/api/products/${lineId}/queue`, { user_id: userOf(i) });
    if (j.status !== 201 && j.status !== 200) {
      const code = j.body?.error?.code ?? `HTTP_${j.status}`;
      line.report.refused[groupOf(i)][`join ${code}`] = (line.report.refused[groupOf(i)][`join ${code}`] ?? 0) + 1;
      return false;
    }
    const ticketId = j.body.ticket_id as string;
    joinNumber.set(i, j.body.join_number);
    // nothing changes for a ticket before the draw: polls start with it
    if (!script) {
      if (i % 4 !== 0) closers.push(follow(i, `/api/products/${lineId}/queue/${ticketId}/events`, (t) => seen(i, t)));
      else void sleepUntil(lineAt).then(() => poll(i, ticketId, 2000));
      return true;
    }
    // a script: at the opening, hammers the order route without an entry, forges one; polls fast
    void sleepUntil(lineAt).then(() => poll(i, ticketId, 500));
    void (async () => {
      await sleepUntil(lineAt);
      for (let n = 0; n < HAMMER_PRESSES && !seenAdmitted.has(i); n++) {
        line.answer(i, await order(i, lineId));
        await sleep(200);
      }
      const forged = await new EntryTokens(GUESSED_KEY).sign({
        productId: lineId, buyer: userOf(i), ticketId, expiresAt: Math.floor(Date.now() / 1000) + 120,
      });
      line.answer(i, await order(i, lineId, { "entry-token": forged }));
    })();
    return true;
  }));

  // the line comes to rest: every entry issued seen and acted on, every payment, failure
  // and cancel final, and no unit available while someone waits: twice in a row
  const giveUpAt = lineAt + s.maxWaitMs;
  let calm = 0;
  let lineView: any = null;
  for (;;) {
    await sleep(500);
    await Promise.all(pending);
    await Promise.all(winners.filter((w) => w.fate !== "expire" && !FINAL.has(w.status)).map(async (w) => {
      const r = await send(0, "GET", `/api/orders/${w.order_id}`);
      if (r.status === 200) w.status = r.body.status;
    }));
    const [l, p] = await Promise.all([send(0, "GET", `/api/products/${lineId}/queue`), send(0, "GET", `/api/products/${lineId}`)]);
    lineView = l.body;
    const atRest = Date.now() > lineAt && l.status === 200 && p.status === 200 &&
      lineView.admitted === seenAdmitted.size && acted.size === seenAdmitted.size &&
      winners.every((w) => w.fate === "expire" || FINAL.has(w.status)) &&
      (p.body.stock_available === 0 || lineView.waiting === 0);
    calm = atRest ? calm + 1 : 0;
    if (calm >= 2 || Date.now() > giveUpAt) break;
  }
  over = true;
  for (const close of closers) close();
  // a line that did not come to rest: the orders already sent still count
  await Promise.all(acting);
  await Promise.all(pending);
  const early: number | null = lineView?.early_joiners ?? null;
  const late: Record<Group, number> = { scripts: 0, people: 0 };
  for (const [i, n] of joinNumber) if (early !== null && n >= early) late[groupOf(i)]++;
  const lineReport: LineReport = {
    ...line.done(),
    line: {
      joined: joined.filter(Boolean).length, early_joiners: early, late_joiners: late,
      admitted: lineView?.admitted ?? 0, waiting_at_end: lineView?.waiting ?? 0, settled: calm >= 2,
    },
  };
  s.say(`through a line: ${lineReport.reservations} units won, ${lineReport.units.scripts} of them by scripts`);

  const audit = await send(0, "GET", "/api/admin/audit", undefined, s.admin);
  const ours = audit.status === 200 ? (audit.body.products as Array<{ id: number; consistent: boolean }>).filter((p) => p.id === openId || p.id === lineId) : [];
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const q = (p: number) => quantile(sorted, p);
  return {
    access: "queue", buyers: s.buyers, scripts: nScripts, people: s.buyers - nScripts, stock: s.stock,
    scripts_share_of_buyers: nScripts / s.buyers, open: openReport, line: lineReport,
    latency_ms: { p50: q(0.5), p99: q(0.99) },
    audit_ok: audit.status === 200 ? audit.body.ok === true : null,
    products_consistent: ours.length === 2 ? ours.every((p) => p.consistent) : null,
  };
}
