/**
 * A shop's identity provider for the tests: an HS256 secret, an RS256 and an ES256 key
 * pair with their public JWKS, and tokens signed (or forged) with them.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export const BUYER_SECRET = "test-buyer-secret-of-at-least-32-bytes!";

export interface Signer {
  rsa: CryptoKey;
  ec: CryptoKey;
  rsaPublicPem: string;
  jwks: { keys: JWK[] };
  /** path of a file holding `jwks` (for BUYER_JWKS) */
  jwksFile: string;
}

export async function identityProvider(): Promise<Signer> {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), "flash-jwks-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true })); // the test file's worker ends
  const jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, JSON.stringify(jwks));
  return { rsa: rsa.privateKey, ec: ec.privateKey, rsaPublicPem: await exportSPKI(rsa.publicKey), jwks, jwksFile };
}

export interface TokenOptions {
  sub?: unknown;
  /** seconds from now; null: no exp claim */
  expiresIn?: number | null;
  /** seconds from now */
  notBefore?: number;
  issuer?: string;
  audience?: string;
}

const now = () => Math.floor(Date.now() / 1000);

function claims(o: TokenOptions): Record<string, unknown> {
  const c: Record<string, unknown> = { sub: o.sub ?? "buyer-1", iat: now() };
  if (o.expiresIn !== null) c.exp = now() + (o.expiresIn ?? 300);
  if (o.notBefore !== undefined) c.nbf = now() + o.notBefore;
  if (o.issuer) c.iss = o.issuer;
  if (o.audience) c.aud = o.audience;
  return c;
}

export function hs256(o: TokenOptions = {}, secret = BUYER_SECRET): Promise<string> {
  return new SignJWT(claims(o)).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

export function rs256(key: CryptoKey, o: TokenOptions = {}, kid = "rsa-1"): Promise<string> {
  return new SignJWT(claims(o)).setProtectedHeader({ alg: "RS256", kid }).sign(key);
}

export function es256(key: CryptoKey, o: TokenOptions = {}): Promise<string> {
  return new SignJWT(claims(o)).setProtectedHeader({ alg: "ES256", kid: "ec-1" }).sign(key);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** `alg: none`: claims without a signature. */
export function unsigned(o: TokenOptions = {}): string {
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims(o))}.`;
}

/** HS/RS confusion: an HS256 token whose HMAC key is the RSA public key (which anyone has). */
export function hs256WithPublicKey(publicPem: string, o: TokenOptions = {}): string {
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims(o))}`;
  return `${input}.${createHmac("sha256", publicPem).update(input).digest("base64url")}`;
}

/** A valid token whose payload was edited afterwards (the signature no longer covers it). */
export function tampered(token: string, o: TokenOptions): string {
  const [header, , signature] = token.split(".");
  return `${header}.${b64(claims(o))}.${signature}`;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
