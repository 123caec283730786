/**
 * The shapes of the API's answers (API.md), as fastest-validator schemas like its inputs:
 * the OpenAPI document converts them with the same function, and the contract tests check
 * real answers against them (`compileCheck`), so the documented answers cannot drift from
 * what the service sends.
 */
import { ORDER_STATUSES } from "../../../src/contracts/order-view.ts";

const int = { type: "number", integer: true } as const;
const count = { type: "number", integer: true, min: 0 } as const;
const timestamp = { type: "string", description: "ISO-8601 UTC" } as const;

export const productAnswer = {
  $$strict: true,
  id: { ...int, positive: true },
  name: { type: "string" },
  price_cents: count,
  currency: { type: "string", description: "ISO 4217" },
  stock_total: { ...count, description: "units put on sale" },
  stock_available: { ...count, description: "live, from the inventory shard" },
  sale_starts_at: { ...timestamp, nullable: true },
  sale_ends_at: { ...timestamp, nullable: true },
  per_user_limit: { ...int, positive: true, nullable: true },
  max_per_order: { ...int, positive: true },
  access: { type: "enum", values: ["open", "queue", "draw"], description: "open: first come; queue: a waiting room; draw: a raffle (API.md, Fair access)" },
  queue_opens_at: { ...timestamp, nullable: true, description: "when buyers may join the line (null: open product)" },
  entry_ttl_seconds: { ...int, positive: true, description: "how long an admitted buyer has to order" },
  admit_per_second: { ...int, positive: true, nullable: true, description: "the most entries issued per second (null: as units allow)" },
  challenge: { type: "boolean", description: "joining needs a solved proof of work" },
  per_entry: { ...int, positive: true, description: "units one entry lets its buyer order" },
} as const;

/** The 202 of POST /api/orders. */
export const reservationAnswer = {
  $$strict: true,
  order_id: { type: "uuid" },
  status: { type: "enum", values: ["reserved"] },
  product_id: { ...int, positive: true },
  qty: { ...int, positive: true },
  user_id: { type: "string", nullable: true },
  amount_cents: count,
  expires_at: { ...timestamp, description: "when the unpaid reservation is released" },
} as const;

export const orderAnswer = {
  $$strict: true,
  order_id: { type: "uuid" },
  status: { type: "enum", values: [...ORDER_STATUSES] },
  product_id: { ...int, positive: true },
  qty: { ...int, positive: true },
  user_id: { type: "string", nullable: true },
  amount_cents: count,
  created_at: timestamp,
  updated_at: timestamp,
  expires_at: timestamp,
} as const;

export const webhookAnswer = {
  $$strict: true,
  received: { type: "boolean" },
  order_status: { type: "enum", values: [...ORDER_STATUSES] },
  refund_required: { type: "boolean", optional: true, description: "money was taken for an order that will not ship" },
} as const;

export const auditAnswer = {
  $$strict: true,
  ok: { type: "boolean" },
  products: {
    type: "array",
    items: {
      type: "object",
      strict: true,
      props: {
        id: { ...int, positive: true },
        stock_total: count,
        available: count,
        reserved: count,
        pending: count,
        paid: count,
        consistent: { type: "boolean" },
        drift: int,
        failures: {
          type: "array",
          items: { type: "object", strict: true, props: { invariant: { type: "string" }, detail: { type: "string" }, by: { type: "number" } } },
        },
      },
    },
  },
  pipeline: {
    type: "object",
    strict: true,
    props: { drained: { type: "boolean" }, in_flight: count, dead_letters: count },
  },
} as const;

const upDown = { type: "enum", values: ["up", "down"] } as const;
export const healthAnswer = {
  $$strict: true,
  status: { type: "enum", values: ["ok", "degraded"] },
  redis: upDown,
  nats: upDown,
  db: upDown,
} as const;

/** A ticket of a product's line (API.md, "Fair access"; src/domain/line-view.ts, TicketView). */
export const ticketAnswer = {
  $$strict: true,
  ticket_id: { type: "string", description: "a random secret (128 bits, URL-safe): shown only to the buyer who joined" },
  product_id: { ...int, positive: true },
  user_id: { type: "string" },
  status: { type: "enum", values: ["waiting", "admitted", "used", "expired", "sold_out", "lost", "left"] },
  join_number: { ...count, description: "0, 1, 2, … in the order tickets joined this line" },
  position: { ...int, positive: true, nullable: true, description: "`waiting` / `sold_out` once the order is drawn: the place in line, 1 = next (never less than the true place); else null" },
  eta_seconds: { ...count, nullable: true, description: "estimated wait from the line's measured pace; null before the draw, while paused, or when unknown" },
  joined_at: timestamp,
  entry_token: { type: "string", nullable: true, description: "while `admitted`: the `Entry-Token` of the one order this entry allows" },
  entry_expires_at: { ...timestamp, nullable: true, description: "while `admitted`: place the order before this" },
} as const;

/** A product's line, public (no ticket ids). */
export const lineAnswer = {
  $$strict: true,
  product_id: { ...int, positive: true },
  access: { type: "enum", values: ["queue", "draw"] },
  opens_at: { ...timestamp, description: "when buyers may join" },
  draws_at: { ...timestamp, description: "`sale_starts_at`: when the order of early joiners is drawn" },
  seed_sha256: { type: "string", description: "SHA-256 (hex) of the seed, published from the first moment" },
  seed: { type: "string", nullable: true, description: "the 32 random bytes (hex) that order the early joiners, once drawn" },
  algorithm: { type: "string", description: "the keyed permutation of join numbers (README shows how to recompute every place)" },
  early_joiners: { ...count, nullable: true, description: "tickets that joined before the draw; null until then" },
  joined: count,
  admitted: count,
  waiting: { ...count, description: "tickets now `waiting` or `sold_out`" },
  paused: { type: "boolean", description: "no new entries while paused" },
  admit_per_second: { ...int, positive: true, nullable: true },
} as const;

/** ALTCHA's challenge (altcha-lib's createChallenge), when the product's `challenge` is on. */
export const challengeAnswer = {
  $$strict: true,
  algorithm: { type: "enum", values: ["SHA-256"] },
  challenge: { type: "string", description: "hex SHA-256 of `salt + number`" },
  salt: { type: "string", description: "carries the product and the expiry, covered by the signature" },
  signature: { type: "string" },
  maxnumber: { ...int, positive: true },
} as const;
