/**
 * The buyers of a chaos run, through the cluster's balancer: orders with an
 * Idempotency-Key each, retried with that key after no answer, a 5xx or a 503 (nothing
 * reserved, Retry-After at most a second); replays of keys already answered 202;
 * cancels; payment webhooks (signed as the provider does, some sent twice); reads of
 * orders and products (a product read with fewer than 50 units left is restocked by
 * 200); and an auditor reading GET /api/admin/audit. Every request is an
 * operation of the history, with its outcome.
 */
import { randomUUID } from "node:crypto";
import { signWebhook } from "../../src/domain/webhook-signature.ts";
import { outcomeOf, type History, type Op, type OpKind } from "./history.ts";
import type { Rng } from "./prng.ts";

export interface ClientOptions {
  url: string;
  products: number[];
  workers: number;
  adminToken: string;
  webhookSecret: string;
  history: History;
  rand: Rng;
  stopped: () => boolean;
}

interface Owned {
  key: string;
  body: Record<string, unknown>;
  orderId: string;
  amount: number;
  events: Array<Record<string, unknown>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(
  o: ClientOptions, worker: string, kind: OpKind, method: string, path: string,
  { key, body, headers = {} }: { key?: string; body?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<Op> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const h: Record<string, string> = { ...headers };
  if (raw !== undefined) h["content-type"] = "application/json";
  if (key) h["idempotency-key"] = key;
  if (kind === "pay") h["x-signature"] = signWebhook(o.webhookSecret, raw!, Math.floor(Date.now() / 1000));
  const invoke = o.history.now();
  const op: Op = { type: "op", id: o.history.id(), worker, kind, invoke, complete: invoke, outcome: "unknown", req: { method, path, key, body }, res: { status: null } };
  try {
    const res = await fetch(o.url + path, { method, headers: h, body: raw, signal: AbortSignal.timeout(8000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (a balancer's page): kept as text
    }
    op.res = { status: res.status, body: parsed };
    if (res.headers.get("idempotent-replayed")) op.res.replayed = true;
    const retryAfter = Number(res.headers.get("retry-after"));
    if (res.status === 503 || res.status === 429) op.res.retryAfterS = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1;
  } catch (err) {
    op.res = { status: null, error: String((err as Error).cause ?? err).slice(0, 200) };
  }
  op.complete = o.history.now();
  op.outcome = outcomeOf(op.res.status);
  o.history.add(op);
  return op;
}

/** One purchase: its key, retried until a definite answer (or 30 s). */
async function order(o: ClientOptions, worker: string, rand: Rng, n: number, owned: Owned[]): Promise<void> {
  const key = `${worker}-${n}-${randomUUID().slice(0, 8)}`;
  const body = { product_id: rand.pick(o.products), qty: rand.int(1, 2), user_id: `${worker}-u${n % 4}` };
  const started = Date.now();
  while (!o.stopped() && Date.now() - started < 30_000) {
    const op = await call(o, worker, "order", "POST", "/api/orders", { key, body });
    if (op.res.status === 202) {
      const b = op.res.body as { order_id: string; amount_cents: number };
      owned.push({ key, body, orderId: b.order_id, amount: b.amount_cents, events: [] });
      return;
    }
    if (op.res.status === 503 || op.res.status === 429) await sleep(Math.min(1000, 1000 * (op.res.retryAfterS ?? 1)));
    else if (op.outcome === "unknown") await sleep(200);
    else return; // a definite refusal: sold out and the like
  }
}

async function worker(o: ClientOptions, name: string): Promise<void> {
  const rand = o.rand.fork(name);
  const owned: Owned[] = [];
  for (let n = 0; !o.stopped(); n++) {
    const r = rand.next();
    const mine = owned.length ? rand.pick(owned) : null;
    if (r < 0.4 || !mine) await order(o, name, rand, n, owned);
    else if (r < 0.5) await call(o, name, "replay", "POST", "/api/orders", { key: mine.key, body: mine.body });
    else if (r < 0.6) await call(o, name, "cancel", "POST", `/api/orders/${mine.orderId}/cancel`);
    else if (r < 0.75) {
      // a payment, or (one time in five) an event sent before, sent again
      const again = mine.events.length > 0 && rand.chance(0.2);
      const event = again ? rand.pick(mine.events) : { event_id: `evt_${randomUUID()}`, order_id: mine.orderId, status: rand.chance(0.8) ? "succeeded" : "failed", amount_cents: mine.amount };
      if (!again) mine.events.push(event);
      await call(o, name, "pay", "POST", "/api/payments/webhook", { body: event });
    } else if (r < 0.92) await call(o, name, "read-order", "GET", `/api/orders/${mine.orderId}`);
    else {
      const read = await call(o, name, "read-product", "GET", `/api/products/${rand.pick(o.products)}`);
      // a product running out is restocked, so that a long run keeps selling
      const p = read.res.body as { id?: number; stock_available?: number };
      if (read.res.status === 200 && p.stock_available! < 50) {
        await call(o, name, "restock", "POST", `/api/admin/products/${p.id}/restock`, { body: { add: 200 }, headers: { authorization: `Bearer ${o.adminToken}` } });
      }
    }
    await sleep(rand.int(10, 100)); // a pace the shared 2-core machine keeps up with
  }
}

async function auditor(o: ClientOptions): Promise<void> {
  while (!o.stopped()) {
    await call(o, "auditor", "audit", "GET", "/api/admin/audit", { headers: { authorization: `Bearer ${o.adminToken}` } });
    await sleep(1500);
  }
}

/** Runs the buyers and the auditor until `stopped()`. */
export async function runClients(o: ClientOptions): Promise<void> {
  await Promise.all([...Array.from({ length: o.workers }, (_, i) => worker(o, `w${i}`)), auditor(o)]);
}
