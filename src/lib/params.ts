/**
 * fastest-validator schemas of the public inputs, declared once and used by the
 * gateway (reject early) and by the owning service's actions (REPL and internal callers).
 */
import { isUtf8 } from "node:buffer";
import Validator from "fastest-validator";
import { FlashError } from "./errors.ts";

export const MAX_INT = 2_147_483_647;

/** A compiled check: true, or the list of failures (the `data` of a Moleculer ValidationError). */
export type Check = (value: unknown) => true | Array<{ field: string; message: string; type: string }>;
// fastest-validator's typings do not describe its CommonJS export under nodenext.
const FastestValidator = Validator as unknown as new (options: object) => { compile(schema: object): Check };

/** Compiles a schema once, for code that validates outside an action's `params`. */
export function compileCheck(schema: object): Check {
  // the custom checks' signature Moleculer's validator uses (moleculer/src/validators/fastest.js)
  return new FastestValidator({ useNewCustomCheckerFunction: true }).compile(schema);
}

/*
 * What the stores can hold. Every string a client sends that reaches PostgreSQL, Redis
 * or a message goes through one of the two rules below, so nothing gets past the edge
 * that a store would refuse (PostgreSQL cannot store U+0000: the order would be
 * acknowledged and never land) or silently change (an unpaired UTF-16 surrogate becomes
 * U+FFFD on its way to UTF-8, so two different ids would become one).
 */

/** Free text (a product's name): any character but NUL, and no unpaired surrogate. */
const TEXT_PATTERN = /^[^\u0000\p{Cs}]*$/u;
/** An id: no control character (C0, DEL, C1), no line or paragraph separator, no unpaired surrogate. */
const ID_PATTERN = /^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]*$/u;

/** A string rule of free text, `min..max` UTF-16 units. */
export const textRule = (min: number, max: number) => ({
  type: "string", min, max, pattern: TEXT_PATTERN,
  messages: { stringPattern: "The '{field}' field must not contain NUL or unpaired surrogates." },
} as const);

/** A string rule of an id (user_id, event_id), `min..max` UTF-16 units. */
export const idRule = (min: number, max: number) => ({
  type: "string", min, max, pattern: ID_PATTERN,
  messages: { stringPattern: "The '{field}' field must not contain control characters or unpaired surrogates." },
} as const);

/** How deep a JSON body may nest (objects and arrays): ours nest 1 or 2 levels. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The bytes of a JSON body as text: invalid UTF-8 is refused, never replaced by U+FFFD. */
export function utf8Body(body: Buffer): string {
  if (!isUtf8(body)) throw new FlashError("BAD_REQUEST", "the request body is not valid UTF-8");
  return body.toString("utf8");
}

/**
 * A JSON body as text, before anything parses it (utf8Body), refused when it nests deeper
 * than MAX_JSON_DEPTH: fastest-validator writes a refused value into its error as text,
 * recursively, and the ~4,000 levels of `[` that fit in 8 KB overflow the stack (a 500 at
 * any client's will). The depth is counted in one pass over the bytes, brackets inside
 * strings skipped; a body too short to nest that deep is not scanned.
 */
export function jsonBodyText(body: Buffer): string {
  const text = utf8Body(body);
  if (body.length > MAX_JSON_DEPTH) {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (inString) {
        if (c === BACKSLASH) i++;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (++depth > MAX_JSON_DEPTH) throw new FlashError("BAD_REQUEST", `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    }
  }
  return text;
}

const productId = { type: "number", integer: true, positive: true, max: MAX_INT } as const;
const userId = idRule(1, 64);

/** The `Idempotency-Key` header of POST /api/orders (API.md): 1..128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,128}$/;
export const idempotencyKeyRule = { type: "string", pattern: IDEMPOTENCY_KEY_RE } as const;
export const checkIdempotencyKey = compileCheck({ $$root: true, ...idempotencyKeyRule });

/** A payment provider's webhook event, after its signature was checked. */
export const paymentEventParams = {
  $$strict: "remove",
  event_id: idRule(1, 128),
  order_id: { type: "uuid" },
  status: { type: "enum", values: ["succeeded", "failed"] },
  amount_cents: { type: "number", integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
} as const;

export const placeOrderParams = {
  $$strict: true,
  product_id: productId,
  qty: { type: "number", integer: true, positive: true, max: 1_000_000 },
  user_id: { ...userId, optional: true },
} as const;

/** POST /api/orders's body checked outside an action (the gateway, before it batches; the sold-out edge). */
export const checkOrderRequest = compileCheck(placeOrderParams);

/**
 * `inventory.reserveMany` (src/contracts/reservation.ts, ReserveMany): reservations of one
 * product that a gateway received together, each with the order id the gateway chose (a
 * resent call replays it) and its Idempotency-Key. Each request is held to the rules of
 * POST /api/orders's body.
 */
/** A line's ticket id: 128 random bits or more, URL-safe base64 (services/inventory/line-engine.ts, newTicketId). */
export const ticketIdRule = { type: "string", pattern: /^[A-Za-z0-9_-]{16,64}$/ } as const;

/** The inventory's line actions (src/contracts/line.ts). */
export const lineJoinParams = { $$strict: true, product_id: productId, user_id: userId } as const;
export const ticketRefParams = { $$strict: true, product_id: productId, ticket_id: ticketIdRule } as const;
export const lineParams = { $$strict: true, product_id: productId } as const;
export const linePatchParams = {
  $$strict: true,
  product_id: productId,
  admit_per_second: { type: "number", integer: true, positive: true, max: 1_000_000, optional: true, nullable: true },
  paused: { type: "boolean", optional: true },
} as const;

export const reserveManyParams = {
  $$strict: true,
  product_id: productId,
  requests: {
    type: "array", min: 1, max: 1000,
    items: {
      type: "object", strict: true,
      props: {
        qty: placeOrderParams.qty,
        user_id: placeOrderParams.user_id,
        order_id: { type: "string", max: 64, optional: true },
        idempotency_key: { ...idempotencyKeyRule, optional: true, nullable: true },
        entry_ticket: { ...ticketIdRule, optional: true },
        entry_refused: { type: "string", max: 200, optional: true },
      },
    },
  },
} as const;

/**
 * A product id as a path carries it: decimal digits only. The rules below convert with
 * Number(), which also reads "0x10", "1e1", " 1" or "+1" as numbers; the gateway checks the
 * path's text with this first (`checkDecimalId`).
 */
const DECIMAL_ID_RE = /^[0-9]+$/;
const NOT_DECIMAL = [{ field: "id", message: "The 'id' field must be written in decimal digits only.", type: "stringPattern" }];

/** A path's id: true when it is decimal digits, else the failure (the `data` of a ValidationError). */
export function checkDecimalId(value: unknown): ReturnType<Check> {
  return typeof value === "string" && DECIMAL_ID_RE.test(value) ? true : NOT_DECIMAL;
}

/** Ids in a path arrive as strings: converted, then held to the same bounds. */
export const productIdPathParams = {
  $$strict: "remove",
  id: { ...productId, convert: true },
} as const;

export const orderIdPathParams = {
  $$strict: "remove",
  id: { type: "uuid" },
} as const;

/*
 * A product's line (API.md, "Fair access"), as the gateway's routes take it. A ticket id
 * is a random secret the inventory made (128 bits, URL-safe base64: 22 characters); a
 * path that cannot be one is 422, like an order id that is not a UUID.
 */
const ticketId = { ...ticketIdRule, messages: { stringPattern: "The '{field}' field must be 16..64 URL-safe base64 characters." } } as const;

/** POST /api/products/{id}/queue: the path's product and the body (a buyer, and a solved challenge when the product asks one). */
export const joinLineParams = {
  $$strict: true,
  id: { ...productId, convert: true },
  user_id: { ...userId, optional: true },
  challenge: { type: "string", min: 1, max: 2048, optional: true, description: "ALTCHA's base64 JSON payload of a solved challenge" },
} as const;

/** A ticket in a path: /api/products/{id}/queue/{ticket_id}. */
export const ticketPathParams = {
  $$strict: "remove",
  id: { ...productId, convert: true },
  ticket_id: ticketId,
} as const;

/** PATCH /api/admin/products/{id}/queue: the operator's levers (null: no bound on admissions). */
export const patchLineParams = {
  $$strict: true,
  id: { ...productId, convert: true },
  admit_per_second: { type: "number", integer: true, positive: true, max: 1_000_000, optional: true, nullable: true },
  paused: { type: "boolean", optional: true },
} as const;

/** The claims of a buyer token we rely on: its `sub` becomes the order's `user_id`, so it is held to the same rule. */
export const buyerClaimsParams = {
  $$strict: "remove",
  sub: userId,
} as const;

/*
 * A timestamp of the admin API (API.md, Admin): an ISO-8601 date-time with seconds and
 * `Z` or an offset, of a real calendar day, in the years 2000..9999. Checked here by hand:
 * `new Date(x)` takes numbers, booleans and free text ("Sat Dec 06 2026"), rolls
 * 2026-02-30 over to March 2nd, and makes years PostgreSQL refuses (a 500 at insert).
 */
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const MIN_YEAR = 2000;
const MAX_YEAR = 9999;

/** The instant (ms since the epoch) of an admin timestamp, or why it is not one. */
export function parseTimestamp(value: unknown): { ms: number } | { error: string } {
  const m = typeof value === "string" ? TIMESTAMP_RE.exec(value) : null;
  if (!m) return { error: "must be an ISO-8601 date-time with Z or an offset, e.g. 2026-12-24T18:00:00Z" };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (y < MIN_YEAR || y > MAX_YEAR) return { error: `must be in the years ${MIN_YEAR}..${MAX_YEAR}` };
  // day 0 of the next month is the last day of this one
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return { error: "must be a real calendar day" };
  if (h > 23 || mi > 59 || s > 59) return { error: "must be a real time of day" };
  const [sign, oh, om] = [m[8], Number(m[9] ?? 0), Number(m[10] ?? 0)];
  if (oh > 23 || om > 59) return { error: "has an offset that is not one" };
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, Number((m[7] ?? "0").padEnd(3, "0").slice(0, 3)));
  return { ms: ms - (sign === "-" ? -1 : 1) * (oh * 60 + om) * 60_000 };
}

type CustomErrors = Array<{ type: string; actual?: unknown }>;

/**
 * A timestamp field: after the check it holds the instant as `toISOString()` (so a call
 * that passes it on, over the transporter or not, is checked again the same way).
 * `after`: the field it must come after, when both are given.
 */
const timestampRule = (after?: string) => ({
  type: "string",
  format: "date-time",
  optional: true,
  nullable: true,
  description: `an ISO-8601 date-time with Z or an offset (e.g. 2026-12-24T18:00:00Z), years ${MIN_YEAR}..${MAX_YEAR}${after ? `, after ${after}` : ""}`,
  // `context.data`: the params (fastest-validator passes a root field's `parent` as null)
  custom(value: unknown, errors: CustomErrors, _schema: unknown, _path: string, _parent: unknown, context: { data?: Record<string, unknown> }) {
    // absent or null: allowed; not a string: the string rule has said so
    if (typeof value !== "string") return value;
    const t = parseTimestamp(value);
    if ("error" in t) {
      errors.push({ type: "timestamp", actual: t.error });
      return value;
    }
    const start = after && context.data ? parseTimestamp(context.data[after]) : null;
    if (start && "ms" in start && t.ms <= start.ms) errors.push({ type: "timestampOrder", actual: value });
    return new Date(t.ms).toISOString();
  },
  messages: {
    timestamp: "The '{field}' field {actual}.",
    timestampOrder: `The '{field}' field must be after ${after}.`,
  },
} as const);

export const createProductParams = {
  $$strict: true,
  name: { ...textRule(1, 200), trim: true },
  price_cents: { type: "number", integer: true, min: 0, max: 100_000_000 },
  stock: { type: "number", integer: true, min: 0, max: 100_000_000 },
  currency: { type: "string", pattern: /^[A-Z]{3}$/, optional: true },
  sale_starts_at: timestampRule(),
  sale_ends_at: timestampRule("sale_starts_at"),
  per_user_limit: { type: "number", integer: true, positive: true, max: 1_000_000, optional: true, nullable: true },
  max_per_order: { type: "number", integer: true, positive: true, max: 10_000, optional: true },
  // API.md, Fair access (the rules between them: src/domain/line-view.ts, lineFieldErrors)
  access: { type: "enum", values: ["open", "queue", "draw"], optional: true },
  queue_opens_at: timestampRule(),
  entry_ttl_seconds: { type: "number", integer: true, min: 10, max: 3600, optional: true },
  admit_per_second: { type: "number", integer: true, positive: true, max: 1_000_000, optional: true, nullable: true },
  challenge: { type: "boolean", optional: true },
} as const;

export const restockParams = {
  $$strict: "remove",
  id: { ...productId, convert: true },
  add: { type: "number", integer: true, positive: true, max: 100_000_000 },
} as const;
