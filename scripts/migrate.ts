/**
 * Database migrations, one command: `npm run migrate` (applies pending ones).
 * `npm run migrate -- create <name>` generates a new migration from the entity diff.
 */
import { loadConfig } from "../src/lib/config.ts";
import { ensureDatabase, initOrm, migrateUp } from "../src/lib/db.ts";

const [command = "up", name] = process.argv.slice(2);
const url = loadConfig({ ...process.env, SERVICES: "none" }).databaseUrl;

if (command === "up") {
  const applied = await migrateUp(url);
  console.log(applied.length ? `migrations applied: ${applied.join(", ")}` : "migrations: up to date");
} else if (command === "create") {
  await ensureDatabase(url);
  const orm = await initOrm(url, 2);
  try {
    const result = await orm.migrator.create(undefined, false, false, name);
    console.log(result.fileName ? `created migrations/${result.fileName}` : "no schema changes");
  } finally {
    await orm.close(true);
  }
} else {
  console.error(`usage: npm run migrate [-- up | create <name>]`);
  process.exit(2);
}
