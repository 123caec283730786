/**
 * Who the buyer is (API.md, "Buyer identity").
 *
 * `BUYER_AUTH=none`: whoever the body's `user_id` names, as before. `BUYER_AUTH=jwt`: the
 * `sub` of an `Authorization: Bearer <JWT>` signed by the shop's identity provider, HS256
 * with BUYER_JWT_SECRET or RS256/ES256 with a key of BUYER_JWKS (a file, or a URL fetched
 * and cached by jose). The key is picked by the token's `alg`, and each key source only
 * accepts its own algorithms: an HS256 token "signed" with an RSA public key, or `alg: none`,
 * never meets a key it could pass with.
 *
 * Verification is local (one HMAC or one signature check, no call to another node), done
 * once per request: the hot route and moleculer-web's buyer route both call `authenticate`.
 * Routes about one order or one ticket of a line make their whole check in one line,
 * `assertOrderBuyer(buyer, order)` / `assertTicketBuyer(buyer, ticket)`.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTHeaderParameters, type JWTVerifyGetKey } from "jose";
import type { BuyerAuthConfig } from "../../src/lib/config.ts";
import { FlashError, UnavailableError } from "../../src/lib/errors.ts";
import { buyerClaimsParams, compileCheck } from "../../src/lib/params.ts";
import { ENTRY_TOKEN_TYPE } from "../../src/domain/entry-token.ts";

/** A token larger than this is not one a shop's identity provider issues (and the header limit is near). */
const MAX_TOKEN_CHARS = 8192;
const HMAC_ALGORITHMS = ["HS256"];
const PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"];
/** how long a JWKS URL's keys are trusted before jose fetches them again */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5000;

export interface BuyerIdentity {
  readonly mode: BuyerAuthConfig["mode"];
  /**
   * The buyer of a request from its Authorization header: the verified token's `sub` in jwt
   * mode (401 UNAUTHORIZED without a valid token, 503 when the JWKS URL cannot be read),
   * null in none mode (the body's `user_id` is the buyer).
   */
  authenticate(authorization: string | string[] | undefined): Promise<string | null>;
  /**
   * Binds an order request (or a join of a line) to its buyer: in jwt mode a body's `user_id`
   * must be absent or the token's `sub` (else 403 FORBIDDEN), and becomes `sub`. Returns the
   * body (changed in place).
   */
  bindOrderRequest(body: unknown, buyer: string | null): unknown;
  /**
   * The one check of every route about one order (read, cancel, follow): in jwt mode, 403
   * FORBIDDEN unless `buyer` (what `authenticate` returned) bought `order`; 401 when no buyer
   * was authenticated at all (a route that forgot to, fails closed). Nothing in none mode.
   */
  assertOrderBuyer(buyer: string | null | undefined, order: { user_id: string | null }): void;
  /** The same check for a ticket of a line (read, follow, leave): with BUYER_AUTH=none its id is the proof. */
  assertTicketBuyer(buyer: string | null | undefined, ticket: { user_id: string }): void;
}

const unauthorized = (message: string) => new FlashError("UNAUTHORIZED", message);
const checkClaims = compileCheck(buyerClaimsParams);

export function buyerIdentity(config: Readonly<BuyerAuthConfig>): BuyerIdentity {
  if (config.mode === "none") {
    return {
      mode: "none",
      authenticate: async () => null,
      bindOrderRequest: (body) => body,
      assertOrderBuyer: () => undefined,
      assertTicketBuyer: () => undefined,
    };
  }

  // imported once: given raw bytes, jose would import the HMAC key again on every request
  const secret = config.secret === undefined ? undefined
    : crypto.subtle.importKey("raw", new TextEncoder().encode(config.secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const publicKeys: JWTVerifyGetKey | undefined =
    config.jwks === undefined ? undefined
    : "url" in config.jwks ? createRemoteJWKSet(config.jwks.url, { cacheMaxAge: JWKS_CACHE_MAX_AGE_MS, timeoutDuration: JWKS_TIMEOUT_MS })
    : createLocalJWKSet(config.jwks.keys as Parameters<typeof createLocalJWKSet>[0]);
  const remote = config.jwks !== undefined && "url" in config.jwks;
  const algorithms = [...(secret ? HMAC_ALGORITHMS : []), ...(publicKeys ? PUBLIC_KEY_ALGORITHMS : [])];

  async function keyFor(header: JWTHeaderParameters, token: Parameters<JWTVerifyGetKey>[1]) {
    if (HMAC_ALGORITHMS.includes(header.alg)) {
      if (!secret) throw unauthorized(`tokens signed with ${header.alg} are not accepted here`);
      return secret;
    }
    if (!publicKeys) throw unauthorized(`tokens signed with ${header.alg} are not accepted here`);
    try {
      return await publicKeys(header, token);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!remote || code === "ERR_JWKS_NO_MATCHING_KEY" || code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") throw err;
      // the identity provider's keys could not be fetched: not the buyer's fault
      throw new UnavailableError("the identity provider's keys cannot be read, retry shortly", "jwks", 5);
    }
  }

  return {
    mode: "jwt",

    async authenticate(authorization) {
      const header = typeof authorization === "string" ? authorization : "";
      const token = /^Bearer +/i.test(header) ? header.replace(/^Bearer +/i, "").trim() : "";
      if (!token) throw unauthorized("a buyer token is required: Authorization: Bearer <JWT>");
      if (token.length > MAX_TOKEN_CHARS) throw unauthorized("the buyer token is too large");
      let payload: Record<string, unknown>;
      let typ: string | undefined;
      try {
        ({ payload, protectedHeader: { typ } } = await jwtVerify(token, keyFor, {
          algorithms,
          clockTolerance: config.leewaySeconds,
          requiredClaims: ["exp", "sub"],
          ...(config.issuer ? { issuer: config.issuer } : {}),
          ...(config.audience ? { audience: config.audience } : {}),
        }));
      } catch (err) {
        if (err instanceof FlashError || err instanceof UnavailableError) throw err;
        throw unauthorized(`the buyer token is not valid: ${reason(err)}`);
      }
      // an entry token (its own type) is never a buyer's token, whatever key signed it
      if (typ?.toLowerCase() === ENTRY_TOKEN_TYPE) throw unauthorized("an entry token is not a buyer token");
      if (checkClaims(payload) !== true) throw unauthorized("the buyer token's sub must be a string of 1..64 characters");
      return payload.sub as string;
    },

    bindOrderRequest(body, buyer) {
      if (buyer === null || typeof body !== "object" || body === null || Array.isArray(body)) return body;
      const fields = body as { user_id?: unknown };
      if (fields.user_id !== undefined && fields.user_id !== buyer) {
        throw new FlashError("FORBIDDEN", "user_id must be absent or the buyer token's sub");
      }
      fields.user_id = buyer;
      return body;
    },

    assertOrderBuyer: (buyer, order) => assertOwner(buyer, order.user_id, "order"),
    assertTicketBuyer: (buyer, ticket) => assertOwner(buyer, ticket.user_id, "ticket"),
  };
}

/** jwt mode: `buyer` (what `authenticate` returned) is `owner`; 401 when no buyer was authenticated (fails closed). */
function assertOwner(buyer: string | null | undefined, owner: string | null, what: "order" | "ticket"): void {
  if (buyer === null || buyer === undefined) throw unauthorized("a buyer token is required: Authorization: Bearer <JWT>");
  if (owner !== buyer) throw new FlashError("FORBIDDEN", `this ${what} belongs to another buyer`);
}

/** What was wrong with a token, in words a client developer can act on (never the key). */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) return err.message;
  if (err instanceof errors.JOSEAlgNotAllowed) return "signature algorithm not accepted";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey) return "signed with an unknown key";
  return "malformed";
}
