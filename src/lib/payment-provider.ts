/**
 * The payment provider's side of POST /api/payments/webhook, for the scripts that play
 * it against a running stack (scripts/pay.ts, scripts/demo.ts): the event signed over
 * its exact bytes with WEBHOOK_SECRET, as the provider does.
 */
import { randomUUID } from "node:crypto";
import { signWebhook } from "../domain/webhook-signature.ts";

export interface PaymentEvent {
  event_id: string;
  order_id: string;
  status: "succeeded" | "failed";
  amount_cents: number;
}

export function paymentEvent(orderId: string, status: PaymentEvent["status"], amountCents: number): PaymentEvent {
  return { event_id: `evt_${randomUUID()}`, order_id: orderId, status, amount_cents: amountCents };
}

/** Sends one webhook, signed `ageSeconds` ago; answers the status and the parsed body. */
export async function sendPaymentEvent(
  baseUrl: string,
  secret: string,
  event: PaymentEvent,
  ageSeconds = 0,
): Promise<{ status: number; body: unknown; text: string }> {
  const raw = JSON.stringify(event);
  const res = await fetch(`${baseUrl}/api/payments/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": signWebhook(secret, raw, Math.floor(Date.now() / 1000) - ageSeconds) },
    body: raw,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the caller prints the text
  }
  return { status: res.status, body, text };
}
