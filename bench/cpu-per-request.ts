/**
 * CPU cost of one request, per path, on a running node: `npm run bench:cpu -- --url
 * http://127.0.0.1:3000 --pid <node pid> [--seconds 10] [--token <ADMIN_TOKEN>]`.
 *
 * req/s on a 2-core machine moves with whatever else runs (the load generator shares
 * the cores); CPU time that the service process spent per answered request does not,
 * so this is the number used to tell what each optimization gave (bench/results/HISTORY.md).
 * Two paths, each on a product of its own, every request a distinct buyer with a
 * distinct Idempotency-Key, c=200:
 *   sold-out  a product of 10 units, sold first: every measured answer is 409 SOLD_OUT
 *   winners   a product with more units than requests: every answer is 202 (reserve,
 *             publish to JetStream, and the order consumer writing it, if in this process)
 */
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { cpuSeconds } from "./lib/cpu.ts";
import { runLoad, stats } from "./lib/load.ts";
import { Admin } from "./lib/service.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:3000" },
    pid: { type: "string" },
    seconds: { type: "string", default: "10" },
    token: { type: "string", default: process.env.ADMIN_TOKEN ?? "dev-admin-token" },
    connections: { type: "string", default: "200" },
  },
});
const pid = Number(values.pid);
if (!Number.isInteger(pid) || pid <= 0 || cpuSeconds(pid) === 0) {
  console.error("usage: npm run bench:cpu -- --url <base> --pid <pid of the node serving it> [--seconds 10] [--token <ADMIN_TOKEN>]");
  process.exit(2);
}
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const admin = new Admin(values.url!, values.token!);
const tag = randomBytes(4).toString("hex");

async function measure(path: string, productId: number, amount: number): Promise<void> {
  const cpu0 = cpuSeconds(pid);
  const run = await runLoad({
    label: path, url: values.url!, path: "/api/orders", amount, connections, maxSeconds: seconds,
    next: (i) => ({
      body: JSON.stringify({ product_id: productId, qty: 1, user_id: `${tag}-${path}-${i}` }),
      headers: { "idempotency-key": `${tag}-${path}-${i}` },
    }),
  });
  const cpu = cpuSeconds(pid) - cpu0;
  const s = stats(run.samples, -Infinity, Infinity, run.duration_ms);
  console.log(
    `${path.padEnd(9)} ${String(s.requests).padStart(7)} answers in ${s.duration_s.toFixed(1)} s = ${Math.round(s.rps)} req/s, ` +
      `p99 ${s.latency_ms.p99.toFixed(1)} ms, statuses ${JSON.stringify(s.status)}; ` +
      `service CPU ${cpu.toFixed(2)} s = ${((cpu / s.requests) * 1e6).toFixed(0)} us/request`,
  );
}

const product = (stock: number) => ({ name: `cpu-${tag}`, price_cents: 100, stock, per_user_limit: 2, max_per_order: 2 });
const soldOut = await admin.createProduct(product(10));
const warm = await runLoad({
  label: "sell", url: values.url!, path: "/api/orders", amount: 10, connections: 1, maxSeconds: 30,
  next: (i) => ({ body: JSON.stringify({ product_id: soldOut, qty: 1, user_id: `${tag}-w${i}` }), headers: {} }),
});
if (stats(warm.samples).status["202"] !== 10) throw new Error("could not sell the 10 units of the sold-out product");
// warm-up (JIT), then the two measured paths
await measure("warm-up", soldOut, 20_000);
await measure("sold-out", soldOut, 10_000_000);
await measure("winners", await admin.createProduct(product(10_000_000)), 10_000_000);
