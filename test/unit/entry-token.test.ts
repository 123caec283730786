import { SignJWT } from "jose";
import { EntryTokens, EntryRefused, ENTRY_TOKEN_TYPE } from "../../src/domain/entry-token.ts";
import { buyerIdentity } from "../../services/gateway/buyer-identity.ts";
import { BUYER_SECRET, hs256 } from "../support/buyer-tokens.ts";
import { refusalOf } from "../support/refusal.ts";

const SECRET = "entry-token-secret-of-at-least-32-bytes";
const tokens = new EntryTokens(SECRET);
const now = 1_800_000_000;
const entry = { productId: 7, buyer: "u-1", ticketId: "t-abc", expiresAt: now + 120 };
const expected = { productId: 7, buyer: "u-1" };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

const refusal = (token: string, exp = expected, at = now) => refusalOf(tokens.verify(token, exp, at), EntryRefused);

test("an entry token verifies for its product and buyer until its expiry, and says which ticket it admits", async () => {
  const token = await tokens.sign(entry);
  expect(await tokens.verify(token, expected, now)).toEqual(entry);
  expect(await tokens.verify(token, expected, now + 119)).toEqual(entry);
  expect(await refusal(token, expected, now + 120)).toBe("the entry token is not valid: expired");
});

test("an entry token is refused for another product or another buyer", async () => {
  const token = await tokens.sign(entry);
  expect(await refusal(token, { productId: 8, buyer: "u-1" })).toBe("the entry token is for another product");
  expect(await refusal(token, { productId: 7, buyer: "u-2" })).toBe("the entry token is for another buyer");
});

test("a forged, unsigned, retyped or malformed entry token is refused", async () => {
  const forged = await new EntryTokens("another-secret-of-at-least-32-bytes!!").sign(entry);
  expect(await refusal(forged)).toBe("the entry token is not valid: signature does not verify");
  const claims = { pid: 7, tid: "t-abc", sub: "u-1", exp: now + 120 };
  expect(await refusal(`${b64({ alg: "none", typ: ENTRY_TOKEN_TYPE })}.${b64(claims)}.`)).toBe("the entry token is not valid: signature algorithm not accepted");
  const key = new TextEncoder().encode(SECRET);
  const untyped = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  expect(await refusal(untyped)).toBe("the entry token is not valid: not an entry token");
  const stringProduct = await new SignJWT({ ...claims, pid: "7" }).setProtectedHeader({ alg: "HS256", typ: ENTRY_TOKEN_TYPE }).sign(key);
  expect(await refusal(stringProduct)).toBe("the entry token is not valid: malformed");
  expect(await refusal("not.a.token")).toBe("the entry token is not valid: malformed");
  expect(await refusal("x".repeat(2000))).toBe("the entry token is too large");
});

test("key confusion: a buyer's JWT is never an entry, and an entry is never a buyer's JWT, even with one secret for both", async () => {
  const shared = new EntryTokens(BUYER_SECRET);
  const buyerJwt = await hs256({ sub: "u-1" });
  expect(await shared.verify(buyerJwt, expected).catch((err: Error) => err.message)).toBe("the entry token is not valid: not an entry token");
  const identity = buyerIdentity({ mode: "jwt", secret: BUYER_SECRET, leewaySeconds: 0 } as never);
  const entryToken = await shared.sign({ ...entry, expiresAt: Math.floor(Date.now() / 1000) + 60 });
  await expect(identity.authenticate(`Bearer ${entryToken}`)).rejects.toMatchObject({ type: "UNAUTHORIZED", message: "an entry token is not a buyer token" });
});

test("an entry token secret shorter than 32 bytes is refused", () => {
  expect(() => new EntryTokens("short")).toThrow(RangeError);
});
