/**
 * The one MikroORM configuration: explicit entity list, file migrations in migrations/.
 * Services never use the global EntityManager: each action or message batch forks one.
 */
import { join } from "node:path";
import pg from "pg";
import { MikroORM, defineConfig, type Options } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";
import { entities } from "../../entities/index.ts";

export const MIGRATIONS_DIR = join(import.meta.dirname, "../../migrations");

export function ormConfig(databaseUrl: string, poolMax = 10): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    debug: false,
    allowGlobalContext: false,
    pool: { min: 0, max: poolMax },
    migrations: {
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      glob: "Migration*.ts",
      emit: "ts",
      snapshot: true,
      snapshotOnMigrate: false,
      snapshotName: ".snapshot-flash-sale",
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
  });
}

export async function initOrm(databaseUrl: string, poolMax?: number): Promise<MikroORM> {
  return MikroORM.init(ormConfig(databaseUrl, poolMax));
}

/** Runs `work` on a connection of its own to `url`, closed afterwards (one-off admin statements). */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database named in the URL when it does not exist (a fresh machine). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name must match [A-Za-z0-9_]+: "${name}"`);
  url.pathname = "/postgres";
  await withClient(url.toString(), async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) {
      try {
        await client.query(`create database "${name}"`);
      } catch (err) {
        // another process created it between our check and create: fine (42P04, or 23505
        // when both inserts into pg_database raced: several nodes starting at once)
        const code = (err as { code?: string }).code;
        if (code !== "42P04" && code !== "23505") throw err;
      }
    }
  });
}

/** Any constant: the advisory lock that serializes migrations across processes. */
const MIGRATION_LOCK = 7_361_209_011;

/**
 * Applies pending migrations; returns the names applied. Every node migrates at
 * start and a deployment starts many at once: an advisory lock (held by its own
 * session) lets one process migrate while the others wait, then find nothing to do.
 */
export async function migrateUp(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const orm = await initOrm(databaseUrl, 2);
    try {
      const applied = await orm.migrator.up();
      return applied.map((m) => m.name);
    } finally {
      await orm.close(true);
    }
  } finally {
    // closing the session releases the lock, also when the unlock cannot be sent
    await lock.end();
  }
}

/**
 * SQLSTATE classes and codes that mean "PostgreSQL is not reachable right now": no
 * connection (08), shutting down (57P01-3), too many connections (53300), not in a state
 * to serve (55000), and the server refusing this node itself: its login (28) or its
 * database, dropped or not yet restored (3D000). None of them is about what a client sent.
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300|55000|28|3D000)/;
const UNAVAILABLE_MESSAGE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|connection is closed|terminating connection|the database system is (starting up|shutting down)|Client has encountered a connection error|timeout exceeded when trying to connect/i;

/**
 * True when an error (or one of its causes) says PostgreSQL is down or restarting, as
 * opposed to a statement it refused: work that failed so is retried later, never
 * dead-lettered.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && UNAVAILABLE_SQLSTATE.test(e.code)) return true;
    if (typeof e.code === "string" && /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE)$/.test(e.code)) return true;
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  }
  return false;
}
