/**
 * PostgreSQL's CPU per persisted order, in isolation: `npm run bench:pg-writer -- [--rows 50000]
 * [--batch 375] [--rounds 3] [--variant "<SQL run on the fresh schema first>"]`.
 *
 * The order writer's own code (persistOrders, one transaction per batch, as the orders
 * consumer runs it) on a fresh, migrated database of its own (`${BENCH_DB}_writer`, dropped
 * afterwards), one connection; the number is the CPU time of that connection's backend
 * process (/proc) divided by the rows written. A variant changes the schema first (drop a
 * constraint, an index) to say what each part costs. The full benchmark reports PostgreSQL's
 * CPU per winner; this tells how much of it is the writer's rows themselves.
 */
import { parseArgs } from "node:util";
import { initOrm, migrateUp, withClient } from "../src/lib/db.ts";
import { persistOrders } from "../src/db/persist-orders.ts";
import { newOrderId } from "../src/domain/order-id.ts";
import type { ReservationRecord } from "../src/contracts/reservation.ts";
import { cpuSeconds } from "./lib/cpu.ts";
import { BENCH_DB, adminUrl } from "./lib/infra.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "50000" },
    batch: { type: "string", default: "375" },
    rounds: { type: "string", default: "3" },
    variant: { type: "string", multiple: true, default: [] },
  },
});
const rows = Number(values.rows), batch = Number(values.batch), rounds = Number(values.rounds);
if (![rows, batch, rounds].every((n) => Number.isInteger(n) && n > 0)) {
  console.error("usage: npm run bench:pg-writer -- [--rows 50000] [--batch 375] [--rounds 3] [--variant \"<SQL>\"]...");
  process.exit(2);
}
const name = `${BENCH_DB}_writer`;
const url = (() => {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
})();

const admin = (sql: string, target = adminUrl()) => withClient(target, (c) => c.query(sql));

/** Backend CPU µs per row of one round on a fresh schema (with `variant` applied). */
async function round(variant: string | undefined): Promise<number> {
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  await migrateUp(url);
  if (variant) await admin(variant, url);
  const orm = await initOrm(url, 1);
  try {
    const em = orm.em.fork();
    const [{ id: productId }] = await em.execute<Array<{ id: number }>>(
      `insert into products (name, price_cents, stock_total, created_at, updated_at) values ('pg-writer', 100, ?, now(), now()) returning id`,
      [rows * 2],
    );
    const [{ pid }] = await em.execute<Array<{ pid: number }>>("select pg_backend_pid() as pid");
    const created = new Date().toISOString();
    const expires = new Date(Date.now() + 600_000).toISOString();
    const cpu0 = cpuSeconds(pid);
    for (let done = 0; done < rows; done += batch) {
      const orders: ReservationRecord[] = Array.from({ length: Math.min(batch, rows - done) }, (_, i) => ({
        order_id: newOrderId(productId), status: "reserved", product_id: productId, qty: 1, user_id: `buyer-${done + i}`,
        amount_cents: 100, idempotency_key: null, created_at: created, expires_at: expires,
      }));
      await orm.em.fork().transactional((tx) => persistOrders(tx, orders));
    }
    return ((cpuSeconds(pid) - cpu0) * 1e6) / rows;
  } finally {
    await orm.close(true);
    await admin(`drop database if exists ${name} with (force)`);
  }
}

const variants: Array<string | undefined> = [undefined, ...values.variant];
console.log(`${rows} rows in transactions of ${batch}, ${rounds} rounds per variant, rounds alternating; backend CPU µs per row:`);
const results = new Map<string | undefined, number[]>(variants.map((v) => [v, []]));
for (let r = 0; r < rounds; r++) for (const v of variants) results.get(v)!.push(await round(v));
for (const [v, us] of results) {
  const sorted = [...us].sort((a, b) => a - b);
  console.log(`  ${v ?? "the schema as migrated"}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} (${us.map((x) => x.toFixed(1)).join(" / ")})`);
}
