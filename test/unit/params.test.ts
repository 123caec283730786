/**
 * The string rules of src/lib/params.ts on their own: what the stores can hold is let
 * through, what they would refuse or silently change is not.
 */
import { checkIdempotencyKey, compileCheck, idRule, textRule, utf8Body } from "../../src/lib/params.ts";

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
