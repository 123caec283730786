/**
 * A product as the API shows it (GET /api/products/{id}, the live product stream, the
 * admin's create and restock): answered by the inventory, shown by the gateway.
 */
export interface ProductView {
  id: number;
  name: string;
  price_cents: number;
  currency: string;
  stock_total: number;
  stock_available: number;
  sale_starts_at: string | null;
  sale_ends_at: string | null;
  per_user_limit: number | null;
  max_per_order: number;
}
