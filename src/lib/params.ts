/**
 * fastest-validator schemas of the public inputs, declared once and used by the
 * gateway (reject early) and by the owning service's actions (REPL and internal callers).
 */
import Validator from "fastest-validator";

export const MAX_INT = 2_147_483_647;

/** A compiled check: true, or the list of failures (the `data` of a Moleculer ValidationError). */
export type Check = (value: unknown) => true | Array<{ field: string; message: string; type: string }>;
// fastest-validator's typings do not describe its CommonJS export under nodenext.
const FastestValidator = Validator as unknown as new () => { compile(schema: object): Check };

/** Compiles a schema once, for code that validates outside an action's `params`. */
export function compileCheck(schema: object): Check {
  return new FastestValidator().compile(schema);
}

const productId = { type: "number", integer: true, positive: true, max: MAX_INT } as const;
const userId = { type: "string", min: 1, max: 64 } as const;

/** The `Idempotency-Key` header of POST /api/orders (checked by the hot route, documented from here). */
export const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,128}$/;
export const idempotencyKeyRule = { type: "string", pattern: IDEMPOTENCY_KEY_RE } as const;

export const placeOrderParams = {
  $$strict: true,
  product_id: productId,
  qty: { type: "number", integer: true, positive: true, max: 1_000_000 },
  user_id: { ...userId, optional: true },
} as const;

/** Ids in a path arrive as strings: converted, then held to the same bounds. */
export const productIdPathParams = {
  $$strict: "remove",
  id: { ...productId, convert: true },
} as const;

export const orderIdPathParams = {
  $$strict: "remove",
  id: { type: "uuid" },
} as const;

/** The claims of a buyer token we rely on: its `sub` becomes the order's `user_id`, so it is held to the same rule. */
export const buyerClaimsParams = {
  $$strict: "remove",
  sub: userId,
} as const;

/** The payment provider's event, checked after its signature (POST /api/payments/webhook). */
export const paymentEventParams = {
  $$strict: "remove",
  event_id: { type: "string", min: 1, max: 128 },
  order_id: { type: "uuid" },
  status: { type: "enum", values: ["succeeded", "failed"] },
  amount_cents: { type: "number", integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
} as const;

export const createProductParams = {
  $$strict: true,
  name: { type: "string", min: 1, max: 200, trim: true },
  price_cents: { type: "number", integer: true, min: 0, max: 100_000_000 },
  stock: { type: "number", integer: true, min: 0, max: 100_000_000 },
  currency: { type: "string", pattern: /^[A-Z]{3}$/, optional: true },
  sale_starts_at: { type: "date", convert: true, optional: true, nullable: true },
  sale_ends_at: { type: "date", convert: true, optional: true, nullable: true },
  per_user_limit: { type: "number", integer: true, positive: true, max: 1_000_000, optional: true, nullable: true },
  max_per_order: { type: "number", integer: true, positive: true, max: 10_000, optional: true },
} as const;

export const restockParams = {
  $$strict: "remove",
  id: { ...productId, convert: true },
  add: { type: "number", integer: true, positive: true, max: 100_000_000 },
} as const;
