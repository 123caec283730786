/**
 * The string rules of src/lib/params.ts on their own: what the stores can hold is let
 * through, what they would refuse or silently change is not; a JSON body's bound on
 * nesting, and a path's product id.
 */
import {
  checkDecimalId, checkIdempotencyKey, compileCheck, createProductParams, idRule, jsonBodyText, MAX_JSON_DEPTH, parseTimestamp, textRule, utf8Body,
} from "../../src/lib/params.ts";

const text = compileCheck({ $$root: true, ...textRule(1, 200) });
const id = compileCheck({ $$root: true, ...idRule(1, 64) });

test("free text takes any character a store can hold, astral ones included", () => {
  for (const s of ["Console", "Jürgen's “Konsole”", "名前", "😀 paired surrogates", "tab\tand\nnewline", "\ufffd"]) expect(text(s)).toBe(true);
});

test("free text refuses NUL and unpaired surrogates, wherever they are", () => {
  for (const s of ["\u0000", "a\u0000", "\ud800", "x\udfff", "\ude00\ud83d", "😀\ud83d"]) expect(text(s)).not.toBe(true);
});

test("an id refuses control characters and line separators too, and says why", () => {
  for (const s of ["u\n1", "u\r", "\u0001", "u\u007f", "u\u0085", "u\u2028", "u\u2029", "u\u0000", "u\ud800"]) {
    const r = id(s);
    expect(r).not.toBe(true);
    expect((r as Array<{ message: string }>)[0].message).toMatch(/control characters/);
  }
  for (const s of ["u-1", "Jürgen-名前-😀", "a b"]) expect(id(s)).toBe(true);
});

test("an Idempotency-Key is 1..128 printable ASCII characters", () => {
  expect(checkIdempotencyKey("7b1c-9f2e order 1")).toBe(true);
  expect(checkIdempotencyKey("k".repeat(128))).toBe(true);
  for (const k of ["", "k".repeat(129), "é", "a\u0000", "a\tb"]) expect(checkIdempotencyKey(k)).not.toBe(true);
});

test("a body is decoded as UTF-8 only when it is UTF-8", () => {
  expect(utf8Body(Buffer.from('{"n":"名前😀"}'))).toBe('{"n":"名前😀"}');
  for (const bytes of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff]]) {
    expect(() => utf8Body(Buffer.from(bytes))).toThrow(expect.objectContaining({ type: "BAD_REQUEST" }));
  }
});

describe("a JSON body nests at most MAX_JSON_DEPTH levels", () => {
  const nest = (levels: number, open: string, close: string, leaf = "1") => open.repeat(levels) + leaf + close.repeat(levels);
  const refused = (text: string) => expect(() => jsonBodyText(Buffer.from(text))).toThrow(expect.objectContaining({ type: "BAD_REQUEST", message: expect.stringMatching(/nested/) }));

  test("up to the bound, arrays and objects alike, the text comes back as it was", () => {
    for (const text of [nest(MAX_JSON_DEPTH, "[", "]"), nest(MAX_JSON_DEPTH, '{"a":', "}"), nest(MAX_JSON_DEPTH / 2, '[{"a":', "}]")]) {
      expect(jsonBodyText(Buffer.from(text))).toBe(text);
    }
  });

  test("one level past it is refused, and so are thousands, closed or not", () => {
    refused(nest(MAX_JSON_DEPTH + 1, "[", "]"));
    refused(nest(MAX_JSON_DEPTH + 1, '{"a":', "}"));
    refused("[".repeat(4000) + "]".repeat(4000));
    refused("[".repeat(MAX_JSON_DEPTH + 1));
  });

  test("depth is the deepest point, not the count of brackets: siblings do not add up", () => {
    const wide = `[${Array.from({ length: 1000 }, () => nest(MAX_JSON_DEPTH - 1, "[", "]")).join(",")}]`;
    expect(jsonBodyText(Buffer.from(wide))).toBe(wide);
  });

  test("brackets inside strings, escaped quotes and backslashes included, are text", () => {
    const text = JSON.stringify({ a: "[{".repeat(1000), b: '\\"[[[' + "[".repeat(100), c: "\\", d: ["]"] });
    expect(jsonBodyText(Buffer.from(text))).toBe(text);
    refused(`{"a":"\\\\",${"[".repeat(MAX_JSON_DEPTH)}]}`);
  });

  test("a body that is not UTF-8 is still refused as such", () => {
    expect(() => jsonBodyText(Buffer.from([0x5b, 0xff, 0x5d]))).toThrow(expect.objectContaining({ message: expect.stringMatching(/UTF-8/) }));
  });
});

test("a product id in a path is decimal digits and nothing else", () => {
  for (const id of ["1", "42", "0042", "2147483647", "99999999999999999999"]) expect(checkDecimalId(id)).toBe(true);
  for (const id of ["", "0x10", "1e3", " 1", "1 ", "+1", "-1", "1.0", "0b1", "0o7", "１", "Infinity", 1, undefined]) {
    expect(checkDecimalId(id)).toEqual([expect.objectContaining({ field: "id" })]);
  }
});

test.each([
  ["2026-12-24T18:00:00Z", Date.UTC(2026, 11, 24, 18)],
  ["2026-12-24T19:00:00.250+01:00", Date.UTC(2026, 11, 24, 18, 0, 0, 250)],
  ["2026-12-24T13:30:00-04:30", Date.UTC(2026, 11, 24, 18)],
  ["2028-02-29T00:00:00Z", Date.UTC(2028, 1, 29)],
  ["2000-01-01T00:00:00Z", Date.UTC(2000, 0, 1)],
  ["9999-12-31T23:59:59.999999Z", Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
])("the admin timestamp %s is the instant it names", (text, ms) => {
  expect(parseTimestamp(text)).toEqual({ ms });
});

test.each([
  ["year 0", "0000-01-01T00:00:00Z", /years/],
  ["a year before 2000", "1999-12-31T23:59:59Z", /years/],
  ["a negative year", "-000001-01-01T00:00:00Z", /ISO-8601/],
  ["a six-digit year", "+010000-01-01T00:00:00Z", /ISO-8601/],
  ["February 30th", "2026-02-30T00:00:00Z", /calendar day/],
  ["February 29th of a common year", "2027-02-29T00:00:00Z", /calendar day/],
  ["month 13", "2026-13-01T00:00:00Z", /calendar day/],
  ["hour 24", "2026-12-24T24:00:00Z", /time of day/],
  ["a leap second", "2026-12-31T23:59:60Z", /time of day/],
  ["an offset of 24 hours", "2026-12-24T18:00:00+24:00", /offset/],
  ["no zone", "2026-12-24T18:00:00", /ISO-8601/],
  ["no seconds", "2026-12-24T18:00Z", /ISO-8601/],
  ["a date without time", "2026-12-24", /ISO-8601/],
  ["Date's own text", "Sat Dec 06 2026", /ISO-8601/],
  ["milliseconds as a number", 1700000000, /ISO-8601/],
  ["milliseconds as text", "1700000000", /ISO-8601/],
  ["true", true, /ISO-8601/],
  ["null", null, /ISO-8601/],
])("%s is not an admin timestamp", (_name, value, why) => {
  const r = parseTimestamp(value);
  expect(r).toEqual({ error: expect.stringMatching(why) });
});

test("a product's timestamps are checked by its params, normalised to UTC, and its window must end after it starts", () => {
  const check = compileCheck(createProductParams);
  const product = (window: object) => ({ name: "x", price_cents: 1, stock: 1, ...window });
  const ok = product({ sale_starts_at: "2026-12-24T19:00:00.250+01:00", sale_ends_at: "2026-12-24T18:00:01Z" });
  expect(check(ok)).toBe(true);
  expect(ok).toMatchObject({ sale_starts_at: "2026-12-24T18:00:00.250Z", sale_ends_at: "2026-12-24T18:00:01.000Z" });
  expect(check(product({ sale_starts_at: null, sale_ends_at: "2026-12-24T18:00:00Z" }))).toBe(true);
  for (const [window, field] of [
    [{ sale_starts_at: "2026-12-24T18:00:00Z", sale_ends_at: "2026-12-24T19:00:00+01:00" }, "sale_ends_at"],
    [{ sale_starts_at: "2026-12-24T18:00:00Z", sale_ends_at: "2026-12-24T17:59:59Z" }, "sale_ends_at"],
    [{ sale_starts_at: 1700000000 }, "sale_starts_at"],
    [{ sale_ends_at: "2026-02-30T00:00:00Z" }, "sale_ends_at"],
  ] as const) {
    const r = check(product(window));
    expect(r !== true && r.map((e) => e.field)).toEqual([field]);
  }
});
