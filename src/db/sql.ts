import { CompiledQuery, type Transaction } from "kysely";
import type { AbstractSqlConnection, EntityManager } from "@mikro-orm/postgresql";

/**
 * MikroORM formats parameters into the SQL text and expands a JS array into a
 * comma list (for `in (?)`). Arrays for `= any(?::uuid[])` therefore travel as one
 * PostgreSQL array literal string; only ids (UUIDs, integers) are allowed in it.
 */
const SAFE = /^(?:[0-9a-fA-F-]{36}|-?\d{1,19})$/;

export function idArray(values: ReadonlyArray<string | number>): string {
  for (const v of values) {
    if (!SAFE.test(String(v))) throw new Error(`not an id: ${String(v)}`);
  }
  return `{${values.join(",")}}`;
}

/**
 * Runs SQL with its parameters bound by PostgreSQL ($1, $2, … in `sql`), in the entity
 * manager's transaction when it has one. For large parameters (the order writer's batch
 * as one JSON document): em.execute would escape them into the SQL text character by
 * character, a few % of a winner's CPU at drop rates.
 */
export async function executeBound<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const ctx = em.getTransactionContext<Transaction<unknown>>() ?? (em.getConnection() as AbstractSqlConnection).getClient();
  const res = await ctx.executeQuery<T>(CompiledQuery.raw(sql, params));
  return res.rows;
}
