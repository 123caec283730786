/**
 * What a committed database transaction asks of the inventory: commit a paid order's
 * reservation, or release one that will not be paid. Decided by the database side
 * (src/db/), applied by src/lib/inventory-effects.ts through inventory.commit and
 * inventory.release.
 */
export interface InventoryEffect {
  kind: "commit" | "release";
  product_id: number;
  order_id: string;
}
