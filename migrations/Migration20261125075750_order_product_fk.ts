import { Migration } from '@mikro-orm/migrations';

export class Migration20261125075750_order_product_fk extends Migration {

  override name = 'Migration20261125075750_order_product_fk';

  override up(): void | Promise<void> {
    this.addSql(`alter table "orders" add constraint "orders_product_id_foreign" foreign key ("product_id") references "products" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "orders" drop constraint "orders_product_id_foreign";`);
  }

}
