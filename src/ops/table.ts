/**
 * Plain-text tables for the operator's console: aligned columns, numbers right-aligned,
 * no colours or box characters (the output is pasted into tickets and chat).
 */
export type Cell = string | number | boolean | null | undefined;

const text = (v: Cell): string => (v === null || v === undefined ? "–" : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));

/** Rows under a header, one column per key of `columns` (in that order). */
export function table<T extends object>(rows: readonly T[], columns: ReadonlyArray<keyof T & string>): string {
  if (rows.length === 0) return "(none)";
  const at = (r: T, c: string) => (r as Record<string, Cell>)[c];
  const cells = rows.map((r) => columns.map((c) => text(at(r, c))));
  const numeric = columns.map((c) => rows.every((r) => typeof at(r, c) === "number" || at(r, c) == null));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ").trimEnd();
  return [line([...columns]), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** One record as two columns, field and value. */
export function fields(record: Record<string, Cell>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  return Object.entries(record).map(([k, v]) => `${k.padEnd(width)}  ${text(v)}`).join("\n");
}
