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
  /** API.md, Fair access: "open", "queue" or "draw" */
  access: "open" | "queue" | "draw";
  /** a line's: when buyers may join (null for an open product) */
  queue_opens_at: string | null;
  entry_ttl_seconds: number;
  admit_per_second: number | null;
  challenge: boolean;
  /** the units one entry lets its buyer order: the smaller of max_per_order and per_user_limit */
  per_entry: number;
}
