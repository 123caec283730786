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
