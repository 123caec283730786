import { objectSchema, ruleSchema } from "../../services/gateway/openapi/json-schema.ts";
import { createProductParams, placeOrderParams } from "../../src/lib/params.ts";

test("a strict params block becomes a closed object with its required fields and bounds", () => {
  expect(objectSchema(placeOrderParams)).toEqual({
    type: "object",
    properties: {
      product_id: { type: "integer", minimum: 1, maximum: 2_147_483_647 },
      qty: { type: "integer", minimum: 1, maximum: 1_000_000 },
      // an id: no control characters, separators or unpaired surrogates (params.ts idRule)
      user_id: { type: "string", minLength: 1, maxLength: 64, pattern: "^[^\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}]*$" },
    },
    required: ["product_id", "qty"],
    additionalProperties: false,
  });
});

test("dates, nullable numbers, patterns and enums keep their meaning", () => {
  const s = objectSchema(createProductParams) as { properties: Record<string, unknown>; required: string[] };
  expect(s.properties.sale_starts_at).toEqual({ type: ["string", "null"], format: "date-time", description: expect.stringMatching(/ISO-8601.*2000\.\.9999/) });
  expect(s.properties.sale_ends_at).toMatchObject({ description: expect.stringMatching(/after sale_starts_at/) });
  expect(() => ruleSchema({ type: "string", custom: () => true })).toThrow(/needs a description/);
  expect(s.properties.per_user_limit).toEqual({ type: ["integer", "null"], minimum: 1, maximum: 1_000_000 });
  expect(s.properties.currency).toEqual({ type: "string", pattern: "^[A-Z]{3}$" });
  expect(s.properties.price_cents).toEqual({ type: "integer", minimum: 0, maximum: 100_000_000 });
  expect(s.required).toEqual(["name", "price_cents", "stock"]);
  expect(ruleSchema({ type: "enum", values: ["a", "b"], nullable: true })).toEqual({ type: ["string", "null"], enum: ["a", "b", null] });
  expect(ruleSchema({ type: "number", positive: true })).toEqual({ type: "number", exclusiveMinimum: 0 });
  expect(ruleSchema("string|optional")).toEqual({ type: "string" });
});

test("`$$strict: \"remove\"` leaves the object open (unknown fields are dropped, not refused)", () => {
  expect(objectSchema({ $$strict: "remove", id: { type: "uuid" } })).toEqual({
    type: "object", properties: { id: { type: "string", format: "uuid" } }, required: ["id"],
  });
});

test.each([
  ["an unknown rule type", { type: "email" }],
  ["an option without a JSON Schema meaning", { type: "string", alpha: true }],
  ["a case-insensitive pattern", { type: "string", pattern: /^a$/i }],
  ["a shorthand flag it cannot map", "string|empty:false"],
  ["something that is not a rule", 42],
])("refuses %s instead of documenting it wrong", (_name, rule) => {
  expect(() => ruleSchema(rule, "field")).toThrow(/openapi:/);
});
