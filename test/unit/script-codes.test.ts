import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ScriptCode } from "../../services/inventory/script-codes.ts";

const header = (script: string) => readFileSync(join(import.meta.dirname, "../../services/inventory/lua", script), "utf8").split("]]")[0];

// a header's reply table: "    8 SOLD_OUT            {8, ...}"
const documented = (script: string) =>
  Object.fromEntries([...header(script).matchAll(/^\s+(\d+) ([A-Z_]+)\s+\{\1\b/gm)].map(([, code, name]) => [name, Number(code)]));

test("the reserve reply codes named in script-codes.ts are the ones reserveBatch-8.lua's header documents", () => {
  expect(documented("reserveBatch-8.lua")).toEqual(ScriptCode.reserve);
});

test("release-6.lua's reply codes named in script-codes.ts are the ones its header documents", () => {
  expect(documented("release-6.lua")).toEqual(ScriptCode.release);
});

test("the line scripts' reply codes named in script-codes.ts are the ones their headers document", () => {
  for (const [name, script] of [["lineOpen", "lineOpen-1.lua"], ["lineJoin", "lineJoin-4.lua"], ["lineLeave", "lineLeave-5.lua"], ["lineAdmit", "lineAdmit-6.lua"], ["lineRead", "lineRead-4.lua"]] as const) {
    expect([script, documented(script)]).toEqual([script, ScriptCode[name]]);
  }
});
