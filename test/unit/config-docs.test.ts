/**
 * docs/configuration.md against src/lib/config.ts: its table is what `npm run docs:config`
 * writes from CONFIG_VARIABLES, CONFIG_VARIABLES names exactly the variables loadConfig
 * reads, and each default it gives is the one loadConfig takes.
 */
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { CONFIG_VARIABLES, loadConfig } from "../../src/lib/config.ts";
import { CONFIGURATION_PAGE, withConfigurationTable } from "../../src/lib/config-docs.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** enough for loadConfig to start (no Redis is connected) */
const BASE = { REDIS_URL: "redis://127.0.0.1:6379" };

/** The variables loadConfig reads from `env`, recorded as it reads them. */
function readsOf(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  loadConfig(new Proxy(env, { get: (target, key) => (typeof key === "string" && read.add(key), Reflect.get(target, key)) }));
  return read;
}

test("docs/configuration.md's table is what `npm run docs:config` writes from src/lib/config.ts", () => {
  const page = readFileSync(CONFIGURATION_PAGE, "utf8");
  expect(withConfigurationTable(page)).toBe(page);
});

test("CONFIG_VARIABLES describes every variable loadConfig reads, and no variable it does not read but for a script's", () => {
  const file = readFileSync(resolve(ROOT, "src/lib/config.ts"), "utf8");
  const source = file.slice(0, file.indexOf("export const CONFIG_VARIABLES"));
  const read = new Set([
    // as read at run time, in development and in production with buyer tokens...
    ...readsOf(BASE),
    ...readsOf({ ...BASE, NODE_ENV: "production", ADMIN_TOKEN: "a", WEBHOOK_SECRET: "w", BUYER_AUTH: "jwt", BUYER_JWT_SECRET: "s".repeat(32), METRICS_PORT: "9100" }),
    // ...and as written, for a read only some values reach
    ...[...source.matchAll(/env\.([A-Z][A-Z0-9_]+)|env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]),
  ]);
  const described = Object.entries(CONFIG_VARIABLES).filter(([, v]) => !v.readBy).map(([name]) => name);
  expect([...read].sort()).toEqual(described.sort());
});

test.each(Object.entries(CONFIG_VARIABLES).filter(([, v]) => v.default !== undefined && !v.readBy))(
  "the documented default of %s is loadConfig's: setting it changes nothing",
  (name, v) => {
    expect(loadConfig({ ...BASE, [name]: v.default })).toEqual(loadConfig(BASE));
  },
);

test.each(Object.entries(CONFIG_VARIABLES).filter(([, v]) => v.readBy))("%s, read by a script, has the documented default there", (name, v) => {
  const scripts = readdirSync(resolve(ROOT, "scripts")).map((f) => readFileSync(resolve(ROOT, "scripts", f), "utf8")).join("\n");
  expect(scripts).toContain(`\${${name}:-${v.default}}`);
});
