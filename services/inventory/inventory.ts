/**
 * What the inventory service asks of an inventory engine. Two engines implement it:
 * RedisInventory (the design: Lua on Redis shards, JetStream hand-over) and
 * PgLockInventory (the naive baseline: a row lock per order), selected by INVENTORY_MODE.
 */
import type { ReservationRecord, ReserveManyRequest, ReserveOutcome } from "../../src/contracts/reservation.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { ShardState } from "../../src/contracts/reports.ts";
import type { NewProduct } from "../../src/db/create-product.ts";
import type { ProductRow } from "../../src/db/product-snapshot.ts";
import { lineFieldErrors, perEntry } from "../../src/domain/line-view.ts";
import { validation as invalid } from "../../src/lib/errors.ts";

/** A request's answer: the reservation rule's outcome, or why it cannot be answered (its own error). */
export type ReserveAnswer = ReserveOutcome | Error;

export interface Inventory {
  /** The requests of one product, one answer each, in order (one failure is not the batch's). */
  reserveMany(productId: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]>;
  release(productId: number, orderId: string, idempotencyKey?: string | null, forgetKey?: boolean): Promise<boolean>;
  commit(productId: number, orderId: string): Promise<boolean>;
  reservation(productId: number, orderId: string): Promise<ReservationRecord | null>;
  product(productId: number): Promise<ProductView | null>;
  load(productId: number, force?: boolean): Promise<boolean>;
  createProduct(input: NewProduct): Promise<ProductView>;
  seedDemo(): Promise<ProductView | null>;
  restock(productId: number, add: number): Promise<ProductView | null>;
  shardState(productId: number): Promise<ShardState>;
  holders(productId: number): Promise<Record<string, number>>;
  dueReservations(productId: number, beforeMs: number, limit: number): Promise<ReservationRecord[]>;
  knownProducts(): Promise<number[]>;
  stockReturned(productId: number): void;
  ping(): Promise<boolean>;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/**
 * A new product's access fields against each other (API.md, Fair access): 422 naming the
 * fields. `lines`: whether this inventory keeps lines (INVENTORY_MODE=redis).
 */
export function checkAccess(input: NewProduct, now: number, lines: boolean): void {
  const access = input.access ?? "open";
  if (access !== "open" && !lines) throw invalid("a product sold through a line needs INVENTORY_MODE=redis", { access: "only \"open\" with INVENTORY_MODE=pg-lock" });
  const errors = lineFieldErrors({
    access, max_per_order: input.max_per_order ?? 10, per_user_limit: input.per_user_limit ?? null,
    sale_starts_at: input.sale_starts_at ?? null, sale_ends_at: input.sale_ends_at ?? null, queue_opens_at: input.queue_opens_at ?? null,
    entry_ttl_seconds: input.entry_ttl_seconds ?? 120, admit_per_second: input.admit_per_second ?? null,
  }, now);
  if (Object.keys(errors).length > 0) throw invalid(`invalid fields for access "${access}"`, errors);
}

export function productView(p: ProductRow, available: number): ProductView {
  return {
    id: p.id,
    name: p.name,
    price_cents: Number(p.price_cents),
    currency: p.currency,
    stock_total: p.stock_total,
    stock_available: Math.max(0, available),
    sale_starts_at: iso(p.sale_starts_at),
    sale_ends_at: iso(p.sale_ends_at),
    per_user_limit: p.per_user_limit ?? null,
    max_per_order: p.max_per_order,
    access: p.access,
    queue_opens_at: iso(p.queue_opens_at),
    entry_ttl_seconds: p.entry_ttl_seconds,
    admit_per_second: p.admit_per_second ?? null,
    challenge: p.challenge,
    per_entry: perEntry(p),
  };
}
