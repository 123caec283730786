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

/**
 * The product id inside an order id made by `newOrderId`, or null for any other UUID.
 * Read in place (hex digits 18..25 are characters 21-22 and 24-29 of the UUID): every
 * reservation and every lookup of an order asks this.
 */
export function productIdOfOrder(orderId: string): number | null {
  // version 8 and variant 0b10 first: they rule out most other UUIDs without the full check
  if (orderId.length !== 36 || orderId.charCodeAt(14) !== 0x38 || !VARIANT_10.has(orderId[19]) || !isUuid(orderId)) return null;
  const productId = parseInt(orderId.slice(21, 23) + orderId.slice(24, 30), 16);
  return productId >= 1 ? productId : null;
}

const VARIANT_10 = new Set(["8", "9", "a", "b", "A", "B"]);
