/**
 * The events services broadcast to one another: each name beside its payload. The
 * emitting service and every listener import them from here, so no service reads
 * another service's file to learn what it hears.
 */
import type { SoldOutRules } from "./reservation.ts";

/** An event about one product's stock. */
export interface ProductEvent {
  product_id: number;
}

/** An event about orders, by id. */
export interface OrdersEvent {
  order_ids: string[];
}

/**
 * inventory → every node, ProductEvent: units of the product are on sale again
 * (a reservation released, a restock, a rebuild). Gateways drop their sold-out flag.
 */
export const STOCK_RETURNED_EVENT = "inventory.stock.returned";

/** inventory → every node, SoldOutNotice: the product just sold out (the gateways' sold-out hint). */
export const SOLD_OUT_EVENT = "inventory.stock.soldOut";
export type SoldOutNotice = ProductEvent & SoldOutRules;

/**
 * inventory → every node, ProductEvent: reservations took units, at most once per
 * PRODUCT_UPDATE_INTERVAL_MS per product (the gateways' live product streams).
 */
export const STOCK_TAKEN_EVENT = "inventory.stock.taken";

/** orders → every node, OrdersEvent: these orders' rows were written. */
export const ORDERS_PERSISTED_EVENT = "orders.persisted";

/**
 * orders, payments, sweeper → every node, OrdersEvent: these orders reached a final
 * status (paid, cancelled, expired, rejected); gateways re-read the ones they follow.
 */
export const ORDERS_CHANGED_EVENT = "orders.changed";
