import { signWebhook } from "../../src/domain/webhook-signature.ts";
import { WEBHOOK_SECRET, type Stack } from "./stack.ts";

let seq = 0;
export const eventId = () => `evt_${process.pid}_${Date.now()}_${seq++}`;

/** Sends a webhook the way the payment provider does: signed over the raw bytes. */
export function sendWebhook(
  stack: Stack,
  body: Record<string, unknown> | string,
  opts: { secret?: string; at?: number; signature?: string | null } = {},
) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const at = opts.at ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { "content-type": "application/json" };
  const signature = opts.signature === undefined ? signWebhook(opts.secret ?? WEBHOOK_SECRET, raw, at) : opts.signature;
  if (signature !== null) headers["x-signature"] = signature;
  return stack.http("POST", "/api/payments/webhook", raw, headers);
}
