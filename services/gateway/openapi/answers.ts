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
