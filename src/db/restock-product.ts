import type { EntityManager } from "@mikro-orm/postgresql";
import { PRODUCT_COLUMNS, type ProductRow } from "./product-snapshot.ts";

/** Raises stock_total; null when the product does not exist. */
export async function restockProduct(em: EntityManager, productId: number, add: number): Promise<ProductRow | null> {
  const [row] = await em.execute<ProductRow[]>(
    `update products set stock_total = stock_total + ?, updated_at = now() where id = ? returning ${PRODUCT_COLUMNS}`,
    [add, productId],
  );
  return row ?? null;
}
