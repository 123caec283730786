/**
 * Order ids are UUIDs (RFC 9562 version 8) that carry their product id, so any node
 * can route a lookup of an order to its product's shard without a global index:
 *
 *   48 bits  creation time, unix ms (ids sort by time: the orders index stays compact)
 *    4 bits  version 8          12 bits random
 *    2 bits  variant 0b10        6 bits random
 *   32 bits  product id         24 bits random
 *
 * 42 random bits per product per millisecond: a collision is as likely as for a
 * UUIDv4 drawn in the same millisecond for the same product, i.e. negligible.
 */
import { randomFillSync } from "node:crypto";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_RE.test(value);
}

export function newOrderId(productId: number, now = Date.now()): string {
  if (!Number.isInteger(productId) || productId < 1 || productId > 0xffffffff) {
    throw new RangeError(`product id out of range: ${productId}`);
  }
  const b = Buffer.allocUnsafe(16);
  randomInto(b);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x80 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  b.writeUInt32BE(productId, 9);
  const hex = b.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// One system call fills entropy for 256 ids: a call per id costs more than the rest of newOrderId.
const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;

function randomInto(b: Buffer): void {
  if (poolAt + b.length > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  POOL.copy(b, 0, poolAt, poolAt + b.length);
  poolAt += b.length;
}

/** The product id inside an order id made by `newOrderId`, or null for any other UUID. */
export function productIdOfOrder(orderId: string): number | null {
  if (!isUuid(orderId)) return null;
  const hex = orderId.replace(/-/g, "");
  if (hex[12] !== "8" || (parseInt(hex[16], 16) & 0xc) !== 0x8) return null;
  const productId = parseInt(hex.slice(18, 26), 16);
  return productId >= 1 ? productId : null;
}
