/**
 * The string rules of src/lib/params.ts on their own: what the stores can hold is let
 * through, what they would refuse or silently change is not; a JSON body's bound on
 * nesting, and a path's product id.
 */
import {
  checkDecimalId, checkIdempotencyKey, compileCheck, idRule, jsonBodyText, MAX_JSON_DEPTH, textRule, utf8Body,
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
