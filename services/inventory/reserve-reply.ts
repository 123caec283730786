/**
 * Reads one request's reply of reserveBatch-8.lua (codes: ./script-codes.ts, documented
 * in the script's header) as the reservation rule's typed outcome.
 */
import type { ReserveOutcome, SoldOutRules } from "../../src/contracts/reservation.ts";
import { KEY_REUSED, refuse, reservedOrder, SOLD_OUT } from "../../src/domain/reservation.ts";
import { replyCode, ScriptCode } from "./script-codes.ts";

const R = ScriptCode.reserve;
const ENTRY_REQUIRED = refuse("ENTRY_REQUIRED", "this product is sold through its line: join it (POST /api/products/{id}/queue) and order with the Entry-Token you get when admitted");

const optionalNumber = (v: string | number | undefined) => (v === undefined || v === "" || v === null ? null : Number(v));

function soldOutRules(r: Array<string | number>): SoldOutRules {
  return { max_per_order: Number(r[1]), per_user_limit: optionalNumber(r[2]), ends_at_ms: optionalNumber(r[3]) };
}

/** {RESERVED | REPLAYED, order_id, qty, amount_cents, expires_at_ms, created_at_ms, ...} */
const order = (productId: number, r: Array<string | number>, userId: string) =>
  reservedOrder(productId, String(r[1]), Number(r[2]), Number(r[3]), Number(r[5]), Number(r[4]), userId);

/** The outcome of one request's reply; `userId` is the request's ("" = anonymous). NOT_LOADED is the caller's to handle. */
export function decodeReserve(productId: number, userId: string, r: Array<string | number>): ReserveOutcome {
  switch (replyCode(r)) {
    case R.RESERVED:
      return { ok: true, order: order(productId, r, userId), replayed: false };
    case R.REPLAYED:
      return { ok: true, order: order(productId, r, String(r[6] ?? "")), replayed: true };
    case R.KEY_REUSED:
      return KEY_REUSED;
    case R.SALE_NOT_ACTIVE:
      return r[1] === "before"
        ? refuse("SALE_NOT_ACTIVE", "the sale has not started yet")
        : refuse("SALE_NOT_ACTIVE", "the sale has ended");
    case R.QTY_OVER_MAX:
      // the rule it broke: the product's max_per_order, or an entry's per_entry
      return refuse("VALIDATION_ERROR", `qty exceeds ${r[2] ?? "max_per_order"} (${r[1]})`, {
        fields: { qty: `must be at most ${r[1]}` },
      });
    case R.USER_REQUIRED:
      return refuse("VALIDATION_ERROR", "user_id is required for a product with a per-user limit", {
        fields: { user_id: "required" },
      });
    case R.LIMIT_EXCEEDED:
      return refuse("LIMIT_EXCEEDED", `the per-user limit is ${r[2]} units`, { held: Number(r[1]), per_user_limit: Number(r[2]) });
    case R.SOLD_OUT:
      return r.length > 1 ? { ...SOLD_OUT, soldOut: soldOutRules(r) } : SOLD_OUT;
    case R.INSUFFICIENT_STOCK:
      return refuse("INSUFFICIENT_STOCK", `only ${r[1]} units left`, { available: Number(r[1]) });
    case R.ENTRY_INVALID:
      return refuse("ENTRY_INVALID", `the Entry-Token is not good: ${r[1]}`);
    case R.ENTRY_REQUIRED:
      return ENTRY_REQUIRED;
    case R.ENTRY_USED:
      return refuse("ENTRY_USED", "this entry has already placed an order");
    default:
      throw new Error(`reserve: reply code ${r[0]} is not an outcome`);
  }
}
