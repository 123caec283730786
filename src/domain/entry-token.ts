/**
 * The entry token (API.md, "Fair access", rule 4): what an admitted buyer shows with
 * `POST /api/orders` of a queue or draw product, in the `Entry-Token` header.
 *
 * A compact JWS (HS256) with a key of its own (ENTRY_TOKEN_SECRET, never a buyer
 * token's key) and a type of its own in its header (`typ: flash-entry+jwt`), so a
 * buyer's JWT is never an entry and an entry never a buyer's JWT. Its claims bind it
 * to one product (`pid`), buyer (`sub`), ticket (`tid`) and expiry (`exp`). It is
 * checked where the order arrives, without a call to another node; its single use is
 * the reserve step's, keyed by the ticket.
 */
import { errors, jwtVerify, SignJWT } from "jose";

export const ENTRY_TOKEN_TYPE = "flash-entry+jwt";
const ALGORITHM = "HS256";
/** no entry this service issues comes near it; a header can hold little more */
const MAX_TOKEN_CHARS = 1024;

export interface Entry {
  productId: number;
  buyer: string;
  ticketId: string;
  /** seconds since the epoch, as JWT's `exp` */
  expiresAt: number;
}

/** Why an entry token was refused, in words a client developer can act on (never the key). */
export class EntryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntryRefused";
  }
}

export class EntryTokens {
  readonly #key: Promise<CryptoKey>;

  /** `secret`: ENTRY_TOKEN_SECRET, at least 32 bytes of it. */
  constructor(secret: string) {
    if (Buffer.byteLength(secret) < 32) throw new RangeError("an entry token secret is at least 32 bytes");
    // imported once: jose would import raw bytes again on every call
    this.#key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  }

  async sign(entry: Entry): Promise<string> {
    return new SignJWT({ pid: entry.productId, tid: entry.ticketId })
      .setProtectedHeader({ alg: ALGORITHM, typ: ENTRY_TOKEN_TYPE })
      .setSubject(entry.buyer)
      .setExpirationTime(entry.expiresAt)
      .sign(await this.#key);
  }

  /**
   * The entry of `token` if it is one of ours, unexpired at `nowSeconds`, for `productId`
   * and `buyer`; else EntryRefused saying why.
   */
  async verify(token: string, expected: { productId: number; buyer: string }, nowSeconds = Math.floor(Date.now() / 1000)): Promise<Entry> {
    if (token.length > MAX_TOKEN_CHARS) throw new EntryRefused("the entry token is too large");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.#key, {
        algorithms: [ALGORITHM], typ: ENTRY_TOKEN_TYPE, requiredClaims: ["exp", "sub"], currentDate: new Date(nowSeconds * 1000),
      }));
    } catch (err) {
      throw new EntryRefused(`the entry token is not valid: ${reason(err)}`);
    }
    const { pid, tid, sub, exp } = payload;
    if (!Number.isSafeInteger(pid) || typeof tid !== "string" || typeof sub !== "string" || !Number.isSafeInteger(exp)) {
      throw new EntryRefused("the entry token is not valid: malformed");
    }
    if (pid !== expected.productId) throw new EntryRefused("the entry token is for another product");
    if (sub !== expected.buyer) throw new EntryRefused("the entry token is for another buyer");
    return { productId: pid as number, buyer: sub, ticketId: tid, expiresAt: exp as number };
  }
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === "typ" ? "not an entry token" : err.message;
  if (err instanceof errors.JOSEAlgNotAllowed) return "signature algorithm not accepted";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  return "malformed";
}
