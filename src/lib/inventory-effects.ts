import type { ServiceBroker } from "moleculer";
import type { InventoryEffect } from "../db/order-transition.ts";

/**
 * Tells the inventory what a committed database transaction decided (paid: commit the
 * reservation; cancelled/expired/rejected: release it). Both are idempotent scripts,
 * so a retry after a crash is harmless; if this never happens, the sweeper's
 * reconciliation finds the reservation and settles it from the order's status.
 */
export async function applyInventoryEffects(broker: ServiceBroker, effects: InventoryEffect[]): Promise<void> {
  await Promise.all(
    effects.map((e) =>
      broker.call(e.kind === "commit" ? "inventory.commit" : "inventory.release", {
        product_id: e.product_id,
        order_id: e.order_id,
      }),
    ),
  );
}
