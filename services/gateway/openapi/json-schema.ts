/**
 * fastest-validator schema → JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1).
 *
 * The OpenAPI document is built from the very schemas the gateway and the services
 * validate with, through this one function: a rule it does not know is an error, so a
 * new kind of rule cannot slip into the API undocumented.
 */
export type JsonSchema = Record<string, unknown>;

type Rule = Record<string, unknown> & { type: string };

/** Keys of a fastest-validator object schema that are options, not fields. */
const isOption = (key: string) => key.startsWith("$$");

/** What each rule type accepts, beyond `type`, `optional`, `nullable` and `convert` (every rule takes those). */
const KNOWN_OPTIONS: Record<string, string[]> = {
  number: ["integer", "positive", "min", "max"],
  // `custom`: a check no JSON Schema keyword says; the rule's description must say it (ruleSchema)
  string: ["min", "max", "pattern", "trim", "format", "custom"],
  uuid: [],
  date: [],
  enum: ["values"],
  boolean: [],
  object: ["props", "strict"],
  array: ["items", "min", "max"],
  any: [],
};
// `messages`: the error texts of a rule, nothing a schema describes
const COMMON_OPTIONS = ["type", "optional", "nullable", "convert", "description", "messages"];

/** An object schema (a `params` block): its fields, which are required, and whether others are refused. */
export function objectSchema(schema: Record<string, unknown>, only?: (field: string) => boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [field, raw] of Object.entries(schema)) {
    if (isOption(field) || (only && !only(field))) continue;
    const rule = toRule(raw, field);
    properties[field] = ruleSchema(rule, field);
    if (!rule.optional) required.push(field);
  }
  const out: JsonSchema = { type: "object", properties };
  if (required.length > 0) out.required = required;
  // `$$strict: true` refuses unknown fields; "remove" drops them silently (so they are allowed)
  if (schema.$$strict === true) out.additionalProperties = false;
  return out;
}

/** One field's rule. */
export function ruleSchema(raw: unknown, where = "rule"): JsonSchema {
  const rule = toRule(raw, where);
  const known = KNOWN_OPTIONS[rule.type];
  if (!known) throw new Error(`openapi: fastest-validator rule type "${rule.type}" of ${where} has no JSON Schema mapping`);
  for (const key of Object.keys(rule)) {
    if (!known.includes(key) && !COMMON_OPTIONS.includes(key)) {
      throw new Error(`openapi: option "${key}" of the ${rule.type} rule of ${where} has no JSON Schema mapping`);
    }
  }
  if (rule.custom !== undefined && typeof rule.description !== "string") throw new Error(`openapi: the custom check of ${where} needs a description`);
  const s = base(rule, where);
  if (typeof rule.description === "string") s.description = rule.description;
  if (rule.nullable) {
    if (Array.isArray(s.enum)) s.enum = [...s.enum, null];
    s.type = [s.type, "null"];
  }
  return s;
}

function base(rule: Rule, where: string): JsonSchema {
  switch (rule.type) {
    case "number": {
      const s: JsonSchema = { type: rule.integer ? "integer" : "number" };
      if (rule.positive) {
        if (rule.integer) s.minimum = Math.max(1, Number(rule.min ?? 1));
        else s.exclusiveMinimum = 0;
      }
      if (typeof rule.min === "number" && s.minimum === undefined) s.minimum = rule.min;
      if (typeof rule.max === "number") s.maximum = rule.max;
      return s;
    }
    case "string": {
      const s: JsonSchema = { type: "string" };
      if (typeof rule.min === "number") s.minLength = rule.min;
      if (typeof rule.max === "number") s.maxLength = rule.max;
      if (rule.pattern !== undefined) s.pattern = patternSource(rule.pattern, where);
      // JSON Schema's name of what the rule's custom check holds it to (fastest-validator ignores it)
      if (typeof rule.format === "string") s.format = rule.format;
      return s;
    }
    case "uuid":
      return { type: "string", format: "uuid" };
    case "date":
      return { type: "string", format: "date-time" };
    case "boolean":
      return { type: "boolean" };
    case "enum":
      if (!Array.isArray(rule.values) || rule.values.some((v) => typeof v !== "string")) {
        throw new Error(`openapi: the enum of ${where} must list strings`);
      }
      return { type: "string", enum: [...rule.values] };
    case "object":
      return rule.props ? objectSchema({ ...(rule.props as object), ...(rule.strict === true ? { $$strict: true } : {}) }) : { type: "object" };
    case "array": {
      const s: JsonSchema = { type: "array" };
      if (rule.items !== undefined) s.items = ruleSchema(rule.items, `${where}[]`);
      if (typeof rule.min === "number") s.minItems = rule.min;
      if (typeof rule.max === "number") s.maxItems = rule.max;
      return s;
    }
    default: // any
      return {};
  }
}

/**
 * A RegExp as an ECMA-262 pattern string. Flags have no JSON Schema equivalent, except
 * `u`: JSON Schema's patterns are matched with Unicode semantics (2020-12, §6.4), which
 * is what the u flag gives (`\p{…}` classes).
 */
function patternSource(pattern: unknown, where: string): string {
  if (typeof pattern === "string") return pattern;
  if (pattern instanceof RegExp) {
    if (pattern.flags.replace(/[gyu]/g, "") !== "") throw new Error(`openapi: the pattern of ${where} has flags (${pattern.flags}) JSON Schema cannot express`);
    return pattern.source;
  }
  throw new Error(`openapi: the pattern of ${where} is neither a string nor a RegExp`);
}

/** A rule written as fastest-validator's shorthand ("string|optional") or as an object. */
function toRule(raw: unknown, where: string): Rule {
  if (typeof raw === "string") {
    const [type, ...flags] = raw.split("|");
    const rule: Rule = { type };
    for (const flag of flags) {
      if (flag !== "optional" && flag !== "nullable") throw new Error(`openapi: shorthand flag "${flag}" of ${where} has no JSON Schema mapping`);
      rule[flag] = true;
    }
    return rule;
  }
  if (raw && typeof raw === "object" && typeof (raw as Rule).type === "string") return raw as Rule;
  throw new Error(`openapi: ${where} is not a fastest-validator rule`);
}
