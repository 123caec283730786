/**
 * Every node migrates the database at start (scripts/run.ts), and a deployment starts
 * many nodes at once (docker-compose, a Kubernetes rollout): migrations applied by
 * several processes at the same moment land once, and none of them fails.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateUp } from "../../src/lib/db.ts";
import { PG_ADMIN_URL, TEST_DATABASE } from "../support/env.ts";

const name = `${TEST_DATABASE}_migrate_${randomBytes(4).toString("hex")}`;
const url = (() => {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
});

test("four nodes migrating a fresh database at once: all succeed, each migration applied once", async () => {
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => migrateUp(url)));
  const failures = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
  expect(failures).toEqual([]);
  const applied = results.flatMap((r) => (r as PromiseFulfilledResult<string[]>).value);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const { rows } = await db.query<{ name: string }>("select name from mikro_orm_migrations order by id");
  await db.end();
  expect(applied.sort()).toEqual(rows.map((r) => r.name).sort());
  expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  expect(rows.length).toBeGreaterThanOrEqual(2);
});
