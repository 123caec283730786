/**
 * The reservation record as a shard stores it (src/contracts/shard-record.ts): what the
 * inventory writes for a rebuild reads back as the same reservation, and a record as the
 * reserve script writes it reads back with its request hash.
 */
import { decodeShardRecord, recordQty, shardRecord } from "../../src/contracts/shard-record.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";

const reservation: ReservationRecord = {
  order_id: "o-1", status: "reserved", product_id: 7, qty: 2, user_id: "u-1", amount_cents: 500,
  created_at: "2026-12-06T03:00:00.000Z", expires_at: "2026-12-06T03:15:00.000Z", idempotency_key: "k-1",
};

test("a reservation written for a rebuild reads back as the same reservation, its hash unknown", () => {
  const raw = JSON.stringify(shardRecord(reservation));
  expect(decodeShardRecord(7, raw)).toEqual({ record: reservation, requestHash: "" });
  expect(recordQty(raw)).toBe(2);
});

test("an anonymous reservation without a key is stored with empty strings and reads back with nulls", () => {
  const anonymous = { ...reservation, user_id: null, idempotency_key: null };
  const stored = shardRecord({ ...anonymous, created_at: new Date(anonymous.created_at), expires_at: new Date(anonymous.expires_at) });
  expect(stored).toMatchObject({ u: "", k: "", c: Date.parse(anonymous.created_at), e: Date.parse(anonymous.expires_at) });
  expect(decodeShardRecord(7, JSON.stringify(stored)).record).toEqual(anonymous);
});

test("a record as the reserve script writes it reads back with the hash of the request that made it", () => {
  const raw = '{"o":"o-2","q":1,"u":"u-2","a":250,"e":1765000900000,"c":1765000000000,"k":"k-2","h":"abc"}';
  expect(decodeShardRecord(3, raw)).toEqual({
    record: {
      order_id: "o-2", status: "reserved", product_id: 3, qty: 1, user_id: "u-2", amount_cents: 250,
      created_at: new Date(1765000000000).toISOString(), expires_at: new Date(1765000900000).toISOString(), idempotency_key: "k-2",
    },
    requestHash: "abc",
  });
});
