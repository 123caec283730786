/**
 * INVENTORY_MODE=pg-lock: the baseline the benchmark compares against. Same API,
 * no Redis and no stream: each order is a PostgreSQL transaction holding the
 * product's row lock (src/db/reserve-with-row-lock.ts). The "shard" views are
 * computed from the database, so the audit and the REPL work unchanged.
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import type { Config } from "../../src/lib/config.ts";
import { newOrderId, productIdOfOrder } from "../../src/domain/order-id.ts";
import type { OrderRequest, ReserveManyRequest, ReserveOutcome } from "../../src/contracts/reservation.ts";
import { reserveWithRowLock } from "../../src/db/reserve-with-row-lock.ts";
import { productSnapshot } from "../../src/db/product-snapshot.ts";
import { createProduct, type NewProduct } from "../../src/db/create-product.ts";
import { restockProduct } from "../../src/db/restock-product.ts";
import type { ReservationRecord } from "../../src/contracts/reservation.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { ShardState } from "../../src/contracts/reports.ts";
import { checkAccess, productView, type Inventory, type ReserveAnswer } from "./inventory.ts";

export class PgLockInventory implements Inventory {
  readonly #orm: MikroORM;
  readonly #config: Readonly<Config>;

  constructor(config: Readonly<Config>, orm: MikroORM) {
    this.#config = config;
    this.#orm = orm;
  }

  /** Each request in its own transaction, the way most shops start. */
  reserveMany(productId: number, requests: readonly ReserveManyRequest[]): Promise<ReserveAnswer[]> {
    return Promise.all(requests.map((r) => this.#reserve(productId, r).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
  }

  #reserve(productId: number, r: ReserveManyRequest): Promise<ReserveOutcome> {
    const now = new Date();
    const req: OrderRequest = r.user_id === undefined ? { product_id: productId, qty: r.qty } : { product_id: productId, qty: r.qty, user_id: r.user_id };
    const orderId = r.order_id !== undefined && productIdOfOrder(r.order_id) === productId ? r.order_id : newOrderId(productId, now.getTime());
    return this.#orm.em.fork().transactional((em) =>
      reserveWithRowLock(em, req, r.idempotency_key ?? null, orderId, now, this.#config.reservationTtlSeconds),
    );
  }

  // The database transitions already moved the units: nothing is held elsewhere.
  async release(): Promise<boolean> {
    return false;
  }
  async commit(): Promise<boolean> {
    return false;
  }
  async reservation(): Promise<ReservationRecord | null> {
    return null;
  }
  async dueReservations(): Promise<ReservationRecord[]> {
    return [];
  }
  async knownProducts(): Promise<number[]> {
    return [];
  }
  stockReturned(): void {}

  async product(productId: number): Promise<ProductView | null> {
    const snap = await productSnapshot(this.#orm.em.fork(), productId);
    return snap ? productView(snap.product, snap.product.stock_total - snap.product.stock_committed) : null;
  }

  async load(productId: number): Promise<boolean> {
    return (await this.product(productId)) !== null;
  }

  async createProduct(input: NewProduct): Promise<ProductView> {
    checkAccess(input, Date.now(), false);
    const row = await createProduct(this.#orm.em.fork(), input);
    return productView(row, row.stock_total);
  }

  async seedDemo(): Promise<ProductView | null> {
    const [{ n }] = await this.#orm.em.fork().execute<Array<{ n: number }>>("select count(*)::int as n from products");
    return n > 0 ? null : this.createProduct({ name: "Console", price_cents: 49900, stock: 1000, per_user_limit: 2, max_per_order: 2 });
  }

  async restock(productId: number, add: number): Promise<ProductView | null> {
    const row = await restockProduct(this.#orm.em.fork(), productId, add);
    return row ? productView(row, row.stock_total - row.stock_committed) : null;
  }

  async shardState(productId: number): Promise<ShardState> {
    const snap = await productSnapshot(this.#orm.em.fork(), productId);
    const reserved = snap ? snap.pending.reduce((s, o) => s + o.qty, 0) : 0;
    return {
      loaded: snap !== null,
      epoch: null,
      stock_total: snap?.product.stock_total ?? 0,
      available: snap ? snap.product.stock_total - snap.product.stock_committed : 0,
      reserved,
      sold: snap?.sold ?? 0,
      reservations: snap?.pending.length ?? 0,
      reservation_units: reserved,
      aside: 0,
      open_entries: 0,
      per_entry: 0,
    };
  }

  async holders(productId: number): Promise<Record<string, number>> {
    return (await productSnapshot(this.#orm.em.fork(), productId))?.users ?? {};
  }

  async ping(): Promise<boolean> {
    return this.#orm.em.fork().execute("select 1").then(() => true, () => false);
  }
}
