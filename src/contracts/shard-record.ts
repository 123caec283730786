/**
 * The reservation record as a shard stores it: one JSON object per order in the `res`
 * hash (and the same object as its idempotency record), with one-letter fields because a
 * drop writes one per winner. services/inventory/lua/includes/reserveMany.lua writes it,
 * load-6.lua takes it; in TypeScript it is written and read only here (by the inventory,
 * and by a gateway replaying a winning key: services/gateway/sold-out-edge.ts):
 *
 *   { o: order id, q: qty, u: user id ("" = anonymous), a: amount (cents),
 *     e: expires at (ms), c: created at (ms), k: Idempotency-Key ("" = none),
 *     h: request hash ("" = none, or not known: a record rebuilt from the database) }
 */
import type { ReservationRecord } from "./reservation.ts";

interface ShardRecord {
  o: string;
  q: number;
  u: string;
  a: number;
  e: number;
  c: number;
  k: string;
  h: string;
}

/** A reservation from the stream or the database (its times as ISO strings or dates). */
export type RecordSource = Pick<ReservationRecord, "order_id" | "qty" | "user_id" | "amount_cents" | "idempotency_key"> & {
  expires_at: Date | string;
  created_at: Date | string;
};

/** A reservation as the shard holds it (for load-6.lua's snapshot). The request hash is not kept elsewhere: "". */
export function shardRecord(r: RecordSource): ShardRecord {
  return {
    o: r.order_id, q: r.qty, u: r.user_id ?? "", a: r.amount_cents, e: new Date(r.expires_at).getTime(), c: new Date(r.created_at).getTime(),
    k: r.idempotency_key ?? "", h: "",
  };
}

/** The units a stored record holds. */
export const recordQty = (raw: string): number => (JSON.parse(raw) as ShardRecord).q;

/** A stored record read back: the reservation record of `productId`, and the hash of the request that made it. */
export function decodeShardRecord(productId: number, raw: string): { record: ReservationRecord; requestHash: string } {
  const rec = JSON.parse(raw) as ShardRecord;
  const record: ReservationRecord = {
    order_id: rec.o,
    status: "reserved",
    product_id: productId,
    qty: rec.q,
    user_id: rec.u === "" ? null : rec.u,
    amount_cents: rec.a,
    created_at: new Date(rec.c).toISOString(),
    expires_at: new Date(rec.e).toISOString(),
    idempotency_key: rec.k === "" ? null : rec.k,
  };
  return { record, requestHash: rec.h };
}
