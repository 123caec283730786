/**
 * scripts/ensure-deps.sh (run by `npm start` and `npm test`) on a fresh checkout with the
 * machine's Node 20: the `npm ci` it runs is real (from npm's cache), and its output
 * stays short: one line on why npm's EBADENGINE warnings are harmless, not a block of
 * five lines per package.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newcomerEnv, shell } from "../support/newcomer.ts";

const ROOT = resolve(import.meta.dirname, "../..");
let checkout: string;

beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), "flash-ensure-deps-"));
  mkdirSync(join(checkout, "scripts"));
  for (const file of ["package.json", "package-lock.json", "scripts/ensure-deps.sh"]) cpSync(join(ROOT, file), join(checkout, file));
});
afterAll(() => {
  if (checkout) rmSync(checkout, { recursive: true, force: true });
});

test("npm ci on Node 20 says once why the engine warnings are harmless, and installs", async () => {
  const node = await shell("node --version", newcomerEnv(), checkout);
  expect(node.stdout.trim()).toMatch(/^v20\./); // the machine's Node, the one that warns

  // prefer-offline: the packages come from npm's cache (the worktree's own `npm ci` filled it)
  const { code, stdout, stderr } = await shell("bash scripts/ensure-deps.sh", newcomerEnv({ npm_config_prefer_offline: "true" }), checkout, 170_000);
  const output = `${stdout}${stderr}`;
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  expect(output.split("\n").filter((line) => line.includes("EBADENGINE"))).toEqual([
    `npm ci: some packages want Node 22, this is Node ${node.stdout.trim()} (their EBADENGINE warnings are hidden): harmless, the npm scripts run the Node 22 of the node@22 devDependency`,
  ]);
  expect(stdout).toMatch(/^npm ci \(node_modules missing/m);
  expect(existsSync(join(checkout, "node_modules/.package-lock.json"))).toBe(true);
  expect(existsSync(join(checkout, "node_modules/node/bin/node"))).toBe(true);
}, 180_000);
