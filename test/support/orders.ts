/**
 * Orders and stock as the tests read them: one place an order (202 expected), one
 * reads its status in PostgreSQL, the shard's counters, the audit, the order stream's
 * lag. Shared by the pipeline's integration tests.
 */
import type { AuditReport } from "../../src/contracts/reports.ts";
import { newOrderId } from "../../src/domain/order-id.ts";
import { deploymentKeys, reserveBatchKeys } from "../../src/lib/keys.ts";
import { createRedis, loadScripts, type ScriptResult } from "../../src/lib/redis.ts";
import { streamNames } from "../../src/lib/streams.ts";
import { log } from "./events.ts";
import { eventually } from "./eventually.ts";
import type { HttpReply, Stack } from "./stack.ts";

export interface Placed {
  order_id: string;
  amount_cents: number;
  product_id: number;
  qty: number;
  expires_at: string;
}

/**
 * The answers to many orders, counted: "202", or the status and error code of a
 * refusal ("409 SOLD_OUT"). One expect on the tally shows what every request got.
 */
export function tally(replies: HttpReply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of replies) {
    const answer = r.status === 202 ? "202" : `${r.status} ${r.body?.error?.code}`;
    counts[answer] = (counts[answer] ?? 0) + 1;
  }
  return counts;
}

/** POST /api/orders, which must answer 202. */
export async function placeOrder(stack: Stack, productId: number, user: string, qty = 1): Promise<Placed> {
  const r = await stack.http("POST", "/api/orders", { product_id: productId, qty, user_id: user });
  expect(r.status).toBe(202);
  return r.body as Placed;
}

/**
 * Resolves once the rows of `orderIds` are written: the writer's `orders.persisted` on
 * the stack's event log (listenForEvents(stack.broker) in beforeAll). In the pg-lock
 * mode the reservation is the row: written before the 202, nothing to await.
 */
export async function rowsWritten(stack: Stack, orderIds: string[], timeoutMs = 20_000): Promise<void> {
  if (stack.config.inventoryMode === "pg-lock") return;
  await log(stack.broker).persisted(orderIds, timeoutMs);
}

/** An order placed and its row written (`pending`). */
export async function pendingOrder(stack: Stack, productId: number, user: string, qty = 1): Promise<Placed> {
  const o = await placeOrder(stack, productId, user, qty);
  await rowsWritten(stack, [o.order_id]);
  return o;
}

/**
 * A reservation that only the shard knows: the node died between the Lua step and the
 * publish, so no message will ever reach the order writer. The order stays `reserved`
 * for as long as a test needs, with nothing held, until a cancel, a payment or the
 * sweeper writes its row. `now`: the reservation's creation time (its TTL counts from it).
 */
export async function reservedWithoutMessage(stack: Stack, productId: number, user: string, qty = 1, now = Date.now()): Promise<string> {
  await stack.http("GET", `/api/products/${productId}`); // loads the shard
  const redis = createRedis(stack.config);
  try {
    const k = deploymentKeys(stack.config.streamPrefix).product(productId);
    const orderId = newOrderId(productId, now);
    // a batch of one request, no idempotency key: one reply per request
    const [reply] = (await loadScripts(redis).reserveBatch(reserveBatchKeys(k),
      [k.idem(""), now, stack.config.reservationTtlSeconds * 1000, 86400, orderId, qty, user, "", "", "", ""])) as unknown as ScriptResult[];
    expect(reply.slice(0, 2)).toEqual([0, orderId]);
    return orderId;
  } finally {
    await redis.quit();
  }
}

/** The product's orders in PostgreSQL. */
export async function dbOrders(stack: Stack, productId: number): Promise<Array<{ id: string; status: string; qty: number; user_id: string; idempotency_key: string | null }>> {
  return (await stack.db.query("select id, status, qty, user_id, idempotency_key from orders where product_id = $1", [productId])).rows;
}

/** stock_available as GET /api/products/{id} answers it. */
export async function stockAvailable(stack: Stack, productId: number): Promise<number> {
  return (await stack.http("GET", `/api/products/${productId}`)).body.stock_available;
}

/** The order's status in PostgreSQL; undefined before its row exists. */
export async function orderStatus(stack: Stack, orderId: string): Promise<string | undefined> {
  return (await stack.db.query("select status from orders where id = $1", [orderId])).rows[0]?.status;
}

export interface ShardCounters {
  available: number;
  reserved: number;
  sold: number;
  stock_total: number;
  reservations: number;
  epoch: string;
  loaded: boolean;
}

/** The product's shard in Redis, as inventory.shard reads it. */
export function shard(stack: Stack, productId: number): Promise<ShardCounters> {
  return stack.broker.call<ShardCounters, object>("inventory.shard", { product_id: productId });
}

/** The audit of one product (or of all), as sweeper.audit answers it. */
export function audit(stack: Stack, productId?: number): Promise<AuditReport> {
  return stack.broker.call<AuditReport, object>("sweeper.audit", productId === undefined ? {} : { product_id: productId });
}

/** stock_committed of the product's row. */
export async function committed(stack: Stack, productId: number): Promise<number> {
  return (await stack.db.query("select stock_committed from products where id = $1", [productId])).rows[0].stock_committed;
}

/**
 * Resolves once the order consumer has acknowledged every message of the stream. Polled:
 * no event announces it (orders.persisted names only rows that were inserted, not the
 * duplicates or late messages a drained stream also settles).
 */
export async function streamDrained(stack: Stack, timeoutMs = 30_000): Promise<void> {
  if (stack.config.inventoryMode === "pg-lock") return; // no stream: the reservation is the row
  const names = streamNames(stack.config.streamPrefix);
  await eventually(async () => {
    const info = await stack.nats.jsm.consumers.info(names.orders, names.ordersConsumer);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, timeoutMs, "the order stream to drain");
}
