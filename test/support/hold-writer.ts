import pg from "pg";
import ordersService from "../../services/orders/orders.service.ts";
import type { Stack } from "./stack.ts";

/**
 * Holds the order consumer back on one product, for as long as the returned function is
 * not called: a KEY SHARE lock on the product row (what a foreign-key check takes) makes
 * the writer's FOR UPDATE wait, while a cancel, a payment or a read (FOR NO KEY UPDATE or
 * no lock) go through. Its orders stay `reserved` meanwhile — a real state of the
 * pipeline, for as long as a test needs it.
 *
 * One locker at a time: once the writer waits, a second FOR NO KEY UPDATE of the product
 * (two cancels, a cancel and a payment) conflicts with the first and queues behind the
 * waiting writer (PostgreSQL's tuple lock), so it waits for the release. For a race of
 * two such parties on a reserved order, use reservedWithoutMessage (./orders.ts).
 */
export async function holdOrderWriter(stack: Stack, productId: number): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: stack.config.databaseUrl });
  await client.connect();
  await client.query("begin");
  await client.query("select 1 from products where id = $1 for key share", [productId]);
  return async () => {
    await client.query("commit");
    await client.end();
  };
}

/**
 * Runs `fn` with the stack's orders service stopped (no consumer: every order stays
 * `reserved`, its message on the stream), then starts it again.
 */
export async function withoutOrdersService<T>(stack: Stack, fn: () => Promise<T>): Promise<T> {
  await stack.broker.destroyService(stack.broker.getLocalService("orders")!);
  try {
    return await fn();
  } finally {
    await stack.broker.createService(ordersService(stack.config));
    await stack.broker.waitForServices(["orders"]);
  }
}
