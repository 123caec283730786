import pg from "pg";
import type { Stack } from "./stack.ts";

/**
 * Holds the order consumer back on one product, for as long as the returned function is
 * not called: a KEY SHARE lock on the product row (what a foreign-key check takes) makes
 * the writer's FOR UPDATE wait, while a cancel, a payment or a read (FOR NO KEY UPDATE or
 * no lock) go through. Its orders stay `reserved` meanwhile — a real state of the
 * pipeline, for as long as a test needs it.
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
