import { Migration } from '@mikro-orm/migrations';

/** Fair access (API.md): a product sold open, through a queue or through a draw, and its line's settings. */
export class Migration20261206070000_fair_access extends Migration {

  override name = 'Migration20261206070000_fair_access';

  override up(): void | Promise<void> {
    this.addSql(`alter table "products" add column "access" varchar(8) not null default 'open', add column "queue_opens_at" timestamptz null, add column "entry_ttl_seconds" int not null default 120, add column "admit_per_second" int null, add column "challenge" boolean not null default false;`);
    this.addSql(`alter table "products" add constraint "products_access_check" check (access in ('open', 'queue', 'draw'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "products" drop constraint "products_access_check";`);
    this.addSql(`alter table "products" drop column "access", drop column "queue_opens_at", drop column "entry_ttl_seconds", drop column "admit_per_second", drop column "challenge";`);
  }

}
