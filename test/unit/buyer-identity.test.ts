import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../../src/lib/config.ts";
import { buyerIdentity, type BuyerIdentity } from "../../services/gateway/buyer-identity.ts";
import {
  BUYER_SECRET, es256, hs256, hs256WithPublicKey, identityProvider, rs256, tampered, unsigned, type Signer,
} from "../support/buyer-tokens.ts";

const base = { REDIS_NODES: "127.0.0.1:1", BUYER_AUTH: "jwt" };
const identity = (env: Record<string, string>) => buyerIdentity(loadConfig({ ...base, ...env }).buyerAuth);
let idp: Signer;

beforeAll(async () => {
  idp = await identityProvider();
});

async function refusal(buyers: BuyerIdentity, header: string | undefined) {
  const err = await buyers.authenticate(header).then(() => null, (e: { type?: string; code?: number; message: string }) => e);
  expect(err).not.toBeNull();
  return err!;
}

describe("HS256 with BUYER_JWT_SECRET", () => {
  const buyers = identity({ BUYER_JWT_SECRET: BUYER_SECRET, BUYER_JWT_LEEWAY_SECONDS: "5" });

  test("a valid token's sub is the buyer", async () => {
    expect(await buyers.authenticate(`Bearer ${await hs256({ sub: "alice" })}`)).toBe("alice");
  });

  test.each([
    ["no header", async () => undefined],
    ["another scheme", async () => `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["an empty bearer", async () => "Bearer "],
    ["garbage", async () => "Bearer not.a.jwt"],
    ["a token signed with another secret (forged)", async () => `Bearer ${await hs256({}, "another-secret-of-at-least-32-bytes!!")}`],
    ["a valid token with an edited sub", async () => `Bearer ${tampered(await hs256({ sub: "alice" }), { sub: "mallory" })}`],
    ["an expired token", async () => `Bearer ${await hs256({ expiresIn: -60 })}`],
    ["a token without exp", async () => `Bearer ${await hs256({ expiresIn: null })}`],
    ["a token not yet valid", async () => `Bearer ${await hs256({ notBefore: 60 })}`],
    ["alg: none", async () => `Bearer ${unsigned()}`],
    ["an RS256 token (no public keys configured)", async () => `Bearer ${await rs256(idp.rsa)}`],
    ["a token without sub", async () => `Bearer ${await hs256({ sub: "" })}`],
    ["a sub over 64 characters", async () => `Bearer ${await hs256({ sub: "u".repeat(65) })}`],
    ["a numeric sub", async () => `Bearer ${await hs256({ sub: 42 })}`],
    ["a token over 8 KiB", async () => `Bearer ${"a".repeat(9000)}`],
  ])("%s → 401 UNAUTHORIZED", async (_name, header) => {
    const err = await refusal(buyers, await header());
    expect(err).toMatchObject({ type: "UNAUTHORIZED", code: 401 });
  });

  test("exp and nbf are checked with the configured leeway", async () => {
    expect(await buyers.authenticate(`Bearer ${await hs256({ expiresIn: -3 })}`)).toBe("buyer-1");
    expect(await buyers.authenticate(`Bearer ${await hs256({ notBefore: 3 })}`)).toBe("buyer-1");
    expect((await refusal(buyers, `Bearer ${await hs256({ expiresIn: -8 })}`)).message).toMatch(/expired/);
  });

  test("issuer and audience, when configured, must match", async () => {
    const strict = identity({ BUYER_JWT_SECRET: BUYER_SECRET, BUYER_JWT_ISSUER: "https://id.shop", BUYER_JWT_AUDIENCE: "flash-sale,shop" });
    expect(await strict.authenticate(`Bearer ${await hs256({ issuer: "https://id.shop", audience: "shop" })}`)).toBe("buyer-1");
    await refusal(strict, `Bearer ${await hs256({ issuer: "https://evil", audience: "shop" })}`);
    await refusal(strict, `Bearer ${await hs256({ issuer: "https://id.shop", audience: "other" })}`);
    await refusal(strict, `Bearer ${await hs256({})}`);
  });
});

describe("RS256/ES256 with BUYER_JWKS", () => {
  test("a JWKS file: RS256 and ES256 tokens of its keys pass", async () => {
    const buyers = identity({ BUYER_JWKS: idp.jwksFile });
    expect(await buyers.authenticate(`Bearer ${await rs256(idp.rsa, { sub: "bob" })}`)).toBe("bob");
    expect(await buyers.authenticate(`Bearer ${await es256(idp.ec, { sub: "carol" })}`)).toBe("carol");
  });

  test("HS/RS confusion: an HS256 token keyed with the RSA public key is refused, with or without a secret configured", async () => {
    const token = `Bearer ${hs256WithPublicKey(idp.rsaPublicPem, { sub: "mallory" })}`;
    await refusal(identity({ BUYER_JWKS: idp.jwksFile }), token);
    await refusal(identity({ BUYER_JWKS: idp.jwksFile, BUYER_JWT_SECRET: BUYER_SECRET }), token);
  });

  test("a token of a key that is not in the set, or an unknown kid, is refused", async () => {
    const other = await identityProvider();
    const buyers = identity({ BUYER_JWKS: idp.jwksFile });
    await refusal(buyers, `Bearer ${await rs256(other.rsa)}`);
    await refusal(buyers, `Bearer ${await rs256(other.rsa, {}, "rsa-9")}`);
    await refusal(buyers, `Bearer ${await hs256()}`);
  });

  describe("a JWKS URL", () => {
    let server: Server;
    let served: unknown;
    let url: string;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(served));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    test("keys are fetched from the identity provider", async () => {
      served = idp.jwks;
      const buyers = identity({ BUYER_JWKS: url });
      expect(await buyers.authenticate(`Bearer ${await rs256(idp.rsa, { sub: "dave" })}`)).toBe("dave");
      await refusal(buyers, `Bearer ${tampered(await rs256(idp.rsa), { sub: "mallory" })}`);
    });

    test("an unreachable identity provider is 503 UNAVAILABLE, not the buyer's fault", async () => {
      const buyers = identity({ BUYER_JWKS: "http://127.0.0.1:9/jwks.json" });
      const err = await refusal(buyers, `Bearer ${await rs256(idp.rsa)}`);
      expect(err).toMatchObject({ type: "UNAVAILABLE", code: 503 });
    });
  });
});

describe("binding requests and orders to the buyer", () => {
  const buyers = identity({ BUYER_JWT_SECRET: BUYER_SECRET });

  test("an order request gets the buyer as user_id; another user_id is 403 FORBIDDEN", () => {
    expect(buyers.bindOrderRequest({ product_id: 1, qty: 1 }, "alice")).toEqual({ product_id: 1, qty: 1, user_id: "alice" });
    expect(buyers.bindOrderRequest({ product_id: 1, qty: 1, user_id: "alice" }, "alice")).toEqual({ product_id: 1, qty: 1, user_id: "alice" });
    expect(() => buyers.bindOrderRequest({ product_id: 1, qty: 1, user_id: "bob" }, "alice")).toThrow(expect.objectContaining({ type: "FORBIDDEN" }));
    expect(() => buyers.bindOrderRequest({ product_id: 1, qty: 1, user_id: 7 }, "alice")).toThrow(expect.objectContaining({ type: "FORBIDDEN" }));
  });

  test("an order is only its buyer's; a route without an authenticated buyer fails closed", () => {
    expect(() => buyers.assertOrderBuyer("alice", { user_id: "alice" })).not.toThrow();
    expect(() => buyers.assertOrderBuyer("bob", { user_id: "alice" })).toThrow(expect.objectContaining({ type: "FORBIDDEN", code: 403 }));
    expect(() => buyers.assertOrderBuyer("bob", { user_id: null })).toThrow(expect.objectContaining({ type: "FORBIDDEN" }));
    expect(() => buyers.assertOrderBuyer(undefined, { user_id: "alice" })).toThrow(expect.objectContaining({ type: "UNAUTHORIZED" }));
  });

  test("BUYER_AUTH=none keeps the body's user_id and checks nothing", async () => {
    const none = buyerIdentity(loadConfig({ REDIS_NODES: "127.0.0.1:1" }).buyerAuth);
    expect(await none.authenticate(undefined)).toBeNull();
    expect(none.bindOrderRequest({ user_id: "x" }, null)).toEqual({ user_id: "x" });
    expect(() => none.assertOrderBuyer(null, { user_id: "alice" })).not.toThrow();
  });
});
