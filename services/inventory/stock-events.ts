/**
 * The inventory's announcements to every node about a product's stock: it sold out, or
 * units came back. Gateways keep their sold-out hint by them (services/gateway/sold-out-edge.ts).
 *
 * `announceStockReturned` is THE "units back" signal: whatever gives units back to a
 * product's shard (release of a reservation: expiry, cancel, failed payment; restock;
 * a rebuild) calls it once the units are back, and every node drops its flag at once.
 */
import type { ServiceBroker } from "moleculer";
import type { SoldOutRules } from "../../src/contracts/reservation.ts";
import { SOLD_OUT_EVENT, STOCK_RETURNED_EVENT, type ProductEvent, type SoldOutNotice } from "../../src/contracts/events.ts";

/** Units of `productId` are on sale again: tells every node (broadcast, this one included). */
export function announceStockReturned(broker: ServiceBroker, productId: number): void {
  // a lost announcement costs at most the flag's lapse time, never a wrong answer
  Promise.resolve(broker.broadcast(STOCK_RETURNED_EVENT, { product_id: productId } satisfies ProductEvent)).catch(() => undefined);
}

/** `productId` just sold out: every node may answer SOLD_OUT itself for a while. */
export function announceSoldOut(broker: ServiceBroker, productId: number, rules: SoldOutRules): void {
  Promise.resolve(broker.broadcast(SOLD_OUT_EVENT, { product_id: productId, ...rules } satisfies SoldOutNotice)).catch(() => undefined);
}
