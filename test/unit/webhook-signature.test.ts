import { signWebhook, verifyWebhookSignature } from "../../src/domain/webhook-signature.ts";

const SECRET = "s3cret";
const body = Buffer.from('{"event_id":"evt_1","order_id":"x","status":"succeeded","amount_cents":1}');
const NOW = 1_800_000_000;

test("accepts the provider's signature over the raw bytes", () => {
  expect(verifyWebhookSignature(SECRET, body, signWebhook(SECRET, body, NOW), NOW, 300)).toEqual({ ok: true });
});

test("accepts any one matching v1 among several (secret rotation)", () => {
  const good = signWebhook(SECRET, body, NOW).split("v1=")[1];
  const header = `t=${NOW},v1=${"0".repeat(64)},v1=${good}`;
  expect(verifyWebhookSignature(SECRET, body, header, NOW, 300).ok).toBe(true);
});

test("accepts a timestamp exactly at the tolerance's edge, either side", () => {
  for (const at of [NOW - 300, NOW + 300]) {
    expect(verifyWebhookSignature(SECRET, body, signWebhook(SECRET, body, at), NOW, 300)).toEqual({ ok: true });
  }
});

test.each([
  ["missing", undefined],
  ["garbage", "hello"],
  ["no v1", `t=${NOW}`],
  ["no t", `v1=${"a".repeat(64)}`],
  ["wrong secret", signWebhook("other", body, NOW)],
  ["stale", signWebhook(SECRET, body, NOW - 301)],
  ["from the future", signWebhook(SECRET, body, NOW + 301)],
])("refuses a %s signature", (_n, header) => {
  expect(verifyWebhookSignature(SECRET, body, header, NOW, 300).ok).toBe(false);
});

test("refuses when one byte of the body changed", () => {
  const header = signWebhook(SECRET, body, NOW);
  const tampered = Buffer.from(body.toString().replace("1}", "2}"));
  expect(verifyWebhookSignature(SECRET, tampered, header, NOW, 300).ok).toBe(false);
});
