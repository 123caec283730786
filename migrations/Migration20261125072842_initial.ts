import { Migration } from '@mikro-orm/migrations';

export class Migration20261125072842_initial extends Migration {

  override name = 'Migration20261125072842_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "orders" ("id" uuid not null, "product_id" int not null, "user_id" varchar(64) null, "qty" int not null, "amount_cents" bigint not null, "status" varchar(16) not null, "idempotency_key" varchar(128) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "orders_product_id_index" on "orders" ("product_id");`);
    this.addSql(`create index "orders_status_expires_idx" on "orders" ("status", "expires_at");`);
    this.addSql(`alter table "orders" add constraint "orders_idempotency_key_unique" unique ("idempotency_key");`);

    this.addSql(`create table "payment_events" ("event_id" varchar(128) not null, "order_id" uuid not null, "status" varchar(16) not null, "amount_cents" bigint not null, "outcome" varchar(24) not null, "http_status" int not null, "response" jsonb not null, "received_at" timestamptz not null, "applied_at" timestamptz null, primary key ("event_id"));`);
    this.addSql(`create index "payment_events_order_id_index" on "payment_events" ("order_id");`);

    this.addSql(`create table "products" ("id" serial primary key, "name" varchar(200) not null, "price_cents" bigint not null, "currency" varchar(3) not null default 'USD', "stock_total" int not null, "stock_committed" int not null default 0, "sale_starts_at" timestamptz null, "sale_ends_at" timestamptz null, "per_user_limit" int null, "max_per_order" int not null default 10, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);

    this.addSql(`alter table "orders" add constraint "orders_status_check" check (status in ('pending','paid','cancelled','expired','rejected'));`);
    this.addSql(`alter table "orders" add constraint "orders_qty_check" check (qty > 0);`);

    this.addSql(`alter table "payment_events" add constraint "payment_events_status_check" check (status in ('succeeded','failed'));`);

    this.addSql(`alter table "products" add constraint "products_stock_committed_check" check (stock_committed >= 0 and stock_committed <= stock_total);`);
    this.addSql(`alter table "products" add constraint "products_price_check" check (price_cents >= 0);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "orders" cascade;`);
    this.addSql(`drop table if exists "payment_events" cascade;`);
    this.addSql(`drop table if exists "products" cascade;`);
  }

}
