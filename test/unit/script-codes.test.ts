import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ScriptCode } from "../../services/inventory/script-codes.ts";

const header = (script: string) => readFileSync(join(import.meta.dirname, "../../services/inventory/lua", script), "utf8").split("]]")[0];

test("the reserve reply codes named in script-codes.ts are the ones reserveBatch-5.lua's header documents", () => {
  // "    8 SOLD_OUT            {8, ...}"
  const documented = [...header("reserveBatch-5.lua").matchAll(/^\s+(\d+) ([A-Z_]+)\s+\{\1\b/gm)].map(([, code, name]) => [name, Number(code)]);
  expect(Object.fromEntries(documented)).toEqual(ScriptCode.reserve);
});
