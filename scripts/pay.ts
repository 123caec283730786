/**
 * Plays the payment provider against a running stack: signs webhooks with
 * WEBHOOK_SECRET and sends them, also duplicated, reordered and late.
 *
 *   npm run pay -- <order_id>                pay an order (succeeded)
 *   npm run pay -- <order_id> --fail         a failed payment (cancels the order)
 *   npm run pay -- <order_id> --duplicates 3 the same event 3 more times
 *   npm run pay -- <order_id> --reorder      a failed event, then the succeeded one
 *   npm run pay -- <order_id> --late 400     signed 400 s ago (refused: tolerance 300 s)
 *   npm run pay -- --buy <product_id>        buy one unit and pay at once (an early webhook)
 *
 * (`npm run`: Node 22 from the node@22 devDependency; the machine's Node 20 cannot run it)
 *
 * BASE_URL (http://127.0.0.1:$PORT) and WEBHOOK_SECRET come from the environment.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/lib/config.ts";
import { paymentEvent, sendPaymentEvent, type PaymentEvent } from "../src/lib/payment-provider.ts";

const config = loadConfig({ ...process.env, SERVICES: "none" });
const base = process.env.BASE_URL ?? `http://127.0.0.1:${config.port}`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    fail: { type: "boolean", default: false },
    duplicates: { type: "string", default: "0" },
    reorder: { type: "boolean", default: false },
    late: { type: "string", default: "0" },
    buy: { type: "string" },
  },
});

async function send(event: PaymentEvent, ageSeconds = 0) {
  const res = await sendPaymentEvent(base, config.webhookSecret, event, ageSeconds);
  console.log(`${event.status} ${event.event_id} → ${res.status} ${res.text}`);
}

let orderId = positionals[0];
let amount: number;
if (values.buy) {
  const res = await fetch(`${base}/api/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
    body: JSON.stringify({ product_id: Number(values.buy), qty: 1, user_id: `payer-${randomUUID().slice(0, 8)}` }),
  });
  const body = (await res.json()) as { order_id: string; amount_cents: number };
  console.log(`buy → ${res.status} ${JSON.stringify(body)}`);
  if (res.status !== 202) process.exit(1);
  orderId = body.order_id;
  amount = body.amount_cents;
} else {
  if (!orderId) {
    console.error("usage: npm run pay -- <order_id> [--fail] [--duplicates N] [--reorder] [--late S] | --buy <product_id>");
    process.exit(2);
  }
  const res = await fetch(`${base}/api/orders/${orderId}`);
  if (res.status !== 200) {
    console.error(`order ${orderId}: ${res.status} ${await res.text()}`);
    process.exit(1);
  }
  amount = ((await res.json()) as { amount_cents: number }).amount_cents;
}

const event = (status: PaymentEvent["status"]) => paymentEvent(orderId, status, amount);
const main = event(values.fail ? "failed" : "succeeded");
if (values.reorder) await send(event(values.fail ? "succeeded" : "failed"));
await send(main, Number(values.late));
for (let i = 0; i < Number(values.duplicates); i++) await send(main, Number(values.late));
const after = await fetch(`${base}/api/orders/${orderId}`);
console.log(`order now → ${after.status} ${await after.text()}`);
