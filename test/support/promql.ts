/**
 * Just enough PromQL to find what an expression reads: the metric names it selects
 * and the label names it matches or groups by. Strings, numbers, durations, function
 * names, keywords and aggregation modifiers are skipped.
 */
export interface SeriesUse {
  metric: string;
  /** label names in the selector's {matchers} */
  labels: string[];
}

export interface ExpressionUses {
  series: SeriesUse[];
  /** label names in by (...), without (...), on (...), ignoring (...), group_left/right (...) */
  grouping: string[];
}

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2"]);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

type Token = { kind: "ident" | "string" | "number" | "punct" | "duration"; text: string };

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#") {
      while (i < expr.length && expr[i] !== "\n") i++;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === "\\" ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string in ${expr}`);
      tokens.push({ kind: "string", text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "[") {
      const j = expr.indexOf("]", i);
      if (j < 0) throw new Error(`unterminated range in ${expr}`);
      tokens.push({ kind: "duration", text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-f]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?[a-z]*)/i.exec(expr.slice(i))!;
      tokens.push({ kind: "number", text: m[0] });
      i += m[0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))!;
      tokens.push({ kind: "ident", text: m[0] });
      i += m[0].length;
    } else {
      const m = /^(==|!=|=~|!~|>=|<=|[-+*/%^(){},=<>])/.exec(expr.slice(i));
      if (!m) throw new Error(`unexpected "${c}" in ${expr}`);
      tokens.push({ kind: "punct", text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

export function analyze(expr: string): ExpressionUses {
  const t = tokenize(expr);
  const series: SeriesUse[] = [];
  const grouping: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const tok = t[i];
    if (tok.kind !== "ident") continue;
    const next = t[i + 1];
    if (GROUPING.has(tok.text) && next?.text === "(") {
      let j = i + 2;
      for (; j < t.length && t[j].text !== ")"; j++) if (t[j].kind === "ident") grouping.push(t[j].text);
      i = j;
      continue;
    }
    if (KEYWORDS.has(tok.text.toLowerCase())) continue;
    // a function, or an aggregation (its modifier may come first: sum by (x) (...))
    if (next?.text === "(" || (next?.kind === "ident" && GROUPING.has(next.text))) continue;
    const use: SeriesUse = { metric: tok.text, labels: [] };
    if (next?.text === "{") {
      let j = i + 2;
      for (; j < t.length && t[j].text !== "}"; j++) {
        if (t[j].kind === "ident" && ["=", "!=", "=~", "!~"].includes(t[j + 1]?.text)) use.labels.push(t[j].text);
      }
      i = j;
    }
    series.push(use);
  }
  return { series, grouping };
}

/** Metric names and their label names in a Prometheus text exposition. */
export function exposition(text: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = found.get(m[1]) ?? new Set<string>();
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1]);
    found.set(m[1], labels);
  }
  return found;
}
