/**
 * What a committed database transaction asks of the inventory, and how it is asked: commit
 * a paid order's reservation, or release one that will not be paid. Decided by the
 * database side (src/db/), applied by the orders, payments and sweeper services through
 * inventory.commit and inventory.release (`applyInventoryEffects`).
 */
import type { ServiceBroker } from "moleculer";
import { ORDERS_CHANGED_EVENT, type OrdersEvent } from "./events.ts";

export interface InventoryEffect {
  kind: "commit" | "release";
  product_id: number;
  order_id: string;
}

/**
 * Tells the inventory what a committed database transaction decided (paid: commit the
 * reservation; cancelled/expired/rejected: release it). Both are idempotent scripts,
 * so a retry after a crash is harmless; if this never happens, the sweeper's
 * reconciliation finds the reservation and settles it from the order's status.
 * Every effect is an order that changed status: the gateways' live streams are told,
 * after the inventory answered (a released unit is on sale when a watcher re-reads),
 * and also when it failed (the status in the database changed all the same).
 */
export async function applyInventoryEffects(broker: ServiceBroker, effects: InventoryEffect[]): Promise<void> {
  if (effects.length === 0) return;
  const applied = await Promise.allSettled(
    effects.map((e) =>
      broker.call(e.kind === "commit" ? "inventory.commit" : "inventory.release", {
        product_id: e.product_id,
        order_id: e.order_id,
      }),
    ),
  );
  void broker.broadcast(ORDERS_CHANGED_EVENT, { order_ids: effects.map((e) => e.order_id) } satisfies OrdersEvent);
  const failed = applied.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
