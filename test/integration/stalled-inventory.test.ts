/**
 * A stalled inventory node (a real node process, frozen with SIGSTOP) does not stall
 * PostgreSQL: a cancel or a payment that must ask the shard about a `reserved` order asks
 * before its transaction, so no product row is locked while it waits, and the order
 * consumer goes on writing that product's orders meanwhile. When the node answers, the
 * request lands on the row written in between.
 */
import { jest } from "@jest/globals";
import type { Middleware } from "moleculer";
import { holdOrderWriter } from "../support/hold-writer.ts";
import { startNodeProcess, type StackNode } from "../support/node-process.ts";
import { startStack, type HttpReply, type Stack } from "../support/stack.ts";
import { listenForEvents } from "../support/events.ts";
import { committed, orderStatus, placeOrder, rowsWritten, shard as shardOf, type Placed } from "../support/orders.ts";
import { sendWebhook, eventId } from "../support/webhooks.ts";

jest.setTimeout(120_000);

// The stall, timed by the test: the inventory node is frozen as `action` starts on this
// node (after what the gateway asked before it), and `asked` is called when that request
// sends its inventory.reservation for the order.
const STALLABLE = new Set(["orders.cancel", "payments.webhook"]);
let stallAt: { action: string; orderId: string; asked: () => void } | null = null;
let stalled: { orderId: string; asked: () => void } | null = null;
const staller = {
  name: "StallInventoryAtAction",
  localAction(next: (ctx: never) => Promise<unknown>, action: { name: string }) {
    if (!STALLABLE.has(action.name)) return next;
    return (ctx: never) => {
      if (stallAt?.action === action.name) {
        stalled = stallAt;
        stallAt = null;
        inventory.signal("SIGSTOP");
      }
      return next(ctx);
    };
  },
  remoteAction(next: (ctx: never) => Promise<unknown>, action: { name: string }) {
    if (action.name !== "inventory.reservation") return next;
    return (ctx: { params: { order_id: string } }) => {
      if (stalled?.orderId === ctx.params.order_id) {
        stalled.asked();
        stalled = null;
      }
      return next(ctx as never);
    };
  },
} as unknown as Middleware;

let stack: Stack;
let inventory: StackNode;
// nodes stalled for a while are not taken off, and a call to one waits for its answer
const patient = { HEARTBEAT_TIMEOUT_S: "120", REQUEST_TIMEOUT_MS: "120000" };

beforeAll(async () => {
  stack = await startStack({ TRANSPORTER: "nats", SERVICES: "gateway,orders,payments,sweeper", ...patient }, { middlewares: [staller] });
  await listenForEvents(stack.broker);
  inventory = await startNodeProcess(stack, ["inventory"], patient);
});
afterAll(async () => {
  await inventory?.stop();
  await stack?.stop();
});

const place = (productId: number, user: string) => placeOrder(stack, productId, user);
const dbStatus = (id: string) => orderStatus(stack, id);
const shard = (productId: number) => shardOf(stack, productId);

/**
 * Two orders of a new product, kept `reserved` (the writer held back on the product);
 * then `send` goes out for the first order, and the inventory node is frozen as
 * `action` starts. Once that request asked the frozen node about the order, the writer
 * is let go: both rows must be written while the request still waits. Then the node is
 * thawed; resolves to the request's answer.
 */
async function whileInventoryStalls(action: string, send: (order: Placed) => Promise<HttpReply>) {
  const product = await stack.createProduct({ stock: 5, price_cents: 300 });
  let holding: (() => Promise<void>) | null = await holdOrderWriter(stack, product.id);
  let reply: Promise<HttpReply> | undefined;
  const orders = [await place(product.id, "st-1"), await place(product.id, "st-2")];
  try {
    const asked = new Promise<void>((resolve) => (stallAt = { action, orderId: orders[0].order_id, asked: resolve }));
    let answered = false;
    reply = send(orders[0]).finally(() => (answered = true));
    await asked;
    await holding();
    holding = null;
    // the consumer writes the product's orders while the request waits on the stalled node
    await rowsWritten(stack, orders.map((o) => o.order_id), 15_000);
    expect(await Promise.all(orders.map((o) => dbStatus(o.order_id)))).toEqual(["pending", "pending"]);
    expect(answered).toBe(false);
  } finally {
    stallAt = null;
    if (holding) await holding();
    inventory.signal("SIGCONT");
    await reply?.catch(() => undefined);
  }
  return { product, orders, reply: await reply };
}

test("a cancel of a reserved order waiting on a stalled inventory node lets the consumer write that product's orders, then cancels the written row", async () => {
  const { product, orders: [a, b], reply } = await whileInventoryStalls("orders.cancel", (o) => stack.http("POST", `/api/orders/${o.order_id}/cancel`));
  expect(reply).toMatchObject({ status: 200, body: { order_id: a.order_id, status: "cancelled" } });
  expect(await dbStatus(a.order_id)).toBe("cancelled");
  expect(await dbStatus(b.order_id)).toBe("pending");
  expect(await committed(stack, product.id)).toBe(1);
  expect(await shard(product.id)).toMatchObject({ available: 4, reserved: 1, sold: 0 });
});

test("a payment for a reserved order waiting on a stalled inventory node lets the consumer write that product's orders, then pays the written row", async () => {
  const { product, orders: [a, b], reply } = await whileInventoryStalls("payments.webhook", (o) =>
    sendWebhook(stack, { event_id: eventId(), order_id: o.order_id, status: "succeeded", amount_cents: o.amount_cents }),
  );
  expect(reply).toMatchObject({ status: 200, body: { received: true, order_status: "paid" } });
  expect(await dbStatus(a.order_id)).toBe("paid");
  expect(await dbStatus(b.order_id)).toBe("pending");
  expect(await shard(product.id)).toMatchObject({ available: 3, reserved: 1, sold: 1 });
});
