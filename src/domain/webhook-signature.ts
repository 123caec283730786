/**
 * The payment provider's signature: `X-Signature: t=<unix seconds>,v1=<hex>` where
 * v1 = HMAC-SHA256(secret, "<t>.<raw body>"). Checked on the raw bytes before the
 * body is parsed, compared in constant time, and only within the tolerance window.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export function signWebhook(secret: string, rawBody: Buffer | string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.`).update(rawBody).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyWebhookSignature(
  secret: string,
  rawBody: Buffer,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds: number,
): SignatureCheck {
  if (!header) return { ok: false, reason: "missing X-Signature" };
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === "v1" && v && /^[0-9a-f]{64}$/i.test(v)) candidates.push(v.toLowerCase());
  }
  if (t === null || candidates.length === 0) return { ok: false, reason: "malformed X-Signature" };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, reason: "signature timestamp outside tolerance" };
  const expected = createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();
  const match = candidates.some((c) => timingSafeEqual(Buffer.from(c, "hex"), expected));
  return match ? { ok: true } : { ok: false, reason: "signature does not match" };
}
