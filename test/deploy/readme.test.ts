/**
 * README's quick start as a newcomer runs it, in a shell with the machine's PATH (its Node
 * 20): `npm start` on this test's own ports, Redis Cluster and database, then every curl of
 * the quick start, each answering with the status and fields README writes after `# →`;
 * the curls `npm start` prints; the payment command of docs/operating.md; and the curl a node
 * prints with the `BUYER_AUTH=jwt` of docs/buyers.md; docs/configuration.md's table against
 * what src/lib/config.ts reads. Everything started is stopped, also when a test fails: each
 * process group by SIGTERM, then SIGKILL; the Redis Cluster by README's own stop command.
 */
import { spawnSync } from "node:child_process";
import { spawnGroup, type NodeProcess } from "../support/node-process.ts";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config.ts";
import { loadConfig } from "../../src/lib/config.ts";
import { withClient } from "../../src/lib/db.ts";
import { connectJetStream, deleteStreams, streamNames } from "../../src/lib/streams.ts";
import { NATS_URL, PG_ADMIN_URL, TEST_DATABASE, TEST_DATABASE_URL, TEST_PORT_BASE } from "../support/env.ts";
import { eventually } from "../support/stack.ts";
import { BUYER_SECRET, hs256 } from "../support/buyer-tokens.ts";
import { newcomerEnv, shell } from "../support/newcomer.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const README = readFileSync(resolve(ROOT, "README.md"), "utf8");
const doc = (name: string) => readFileSync(resolve(ROOT, "docs", name), "utf8");
const CONFIGURATION = doc("configuration.md");
const PORT = TEST_PORT_BASE + 91; // npm start's gateway
const JWT_PORT = TEST_PORT_BASE + 92; // the BUYER_AUTH=jwt gateway
const REDIS_PORT = TEST_PORT_BASE + 95; // npm start's Redis Cluster: +95..+97
const DATABASE = `${TEST_DATABASE}_readme`;
const DATABASE_URL = Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${DATABASE}` }).toString();
const PREFIX = `R${randomBytes(4).toString("hex")}`;

/** A quick-start command: its text (continuation lines joined) and what README says it answers. */
interface Command {
  line: string;
  status?: number;
  fields?: string;
}

/** The shell commands of one of README's sections ("Quick start" unless named), in order. */
function quickStart(title = "Quick start"): Command[] {
  const heading = `## ${title}`;
  expect(README).toContain(heading);
  const section = README.slice(README.indexOf(heading), README.indexOf("\n## ", README.indexOf(heading) + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, "").split("\n").filter(Boolean)).map((text) => {
    const [, line, status, fields] = /^(.*?)\s*(?:#\s*→\s*(\d{3})\s*(.*))?(?:#.*)?$/.exec(text)!;
    return { line: line.trim(), status: status ? Number(status) : undefined, fields };
  });
}

/**
 * README's fields after the status, e.g. `{"order_id":…,"status":"reserved",…}`: a JSON
 * value must be equal, `…` must be present, `[…]` an array.
 */
function expectFields(body: Record<string, unknown>, fields: string): void {
  for (const [, key, value] of fields.matchAll(/"(\w+)":\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[…\]|…)/g)) {
    if (value === "…") expect(body).toHaveProperty(key);
    else if (value === "[…]") expect(Array.isArray(body[key])).toBe(true);
    else expect({ [key]: body[key] }).toEqual({ [key]: JSON.parse(value) });
  }
}

/** Runs a curl line as typed, against `port`; its status and JSON answer. */
async function curl(line: string, port: number, env: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  expect(line).toMatch(/^curl /);
  const typed = line.replace(/\blocalhost:3000\b/g, `127.0.0.1:${port}`);
  const { code, stdout, stderr } = await shell(`${typed} -w '\\n%{http_code}'`, newcomerEnv(env), ROOT, 20_000);
  if (code !== 0) throw new Error(`${typed}: exit ${code} ${stderr}`);
  const status = Number(stdout.slice(stdout.lastIndexOf("\n") + 1));
  const text = stdout.slice(0, stdout.lastIndexOf("\n"));
  return { status, body: text ? JSON.parse(text) : null };
}

/** A command line started as typed in a terminal, in a process group of its own. */
function start(line: string, env: Record<string, string>): NodeProcess {
  return spawnGroup(["bash", "-c", `exec ${line}`], newcomerEnv(env));
}

/** What this test sets for `npm start`: its own ports, database and stream names (each a row of the configuration table) */
const NPM_START_ENV = {
  PORT: String(PORT), REDIS_CLUSTER_PORT: String(REDIS_PORT), DATABASE_URL, NATS_URL,
  STREAM_PREFIX: PREFIX, LOG_LEVEL: "warn", SHUTDOWN_DRAIN_MS: "0",
};

/** The variables named in the first column of docs/configuration.md's table (the rows right after its header). */
function configurationTable(): Map<string, string> {
  const lines = CONFIGURATION.split("\n");
  const first = lines.findIndex((l) => l.startsWith("| variable |"));
  const rows = new Map<string, string>();
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    const [name, defaults] = line.split(" | ");
    for (const [, v] of name.matchAll(/`([A-Z0-9_]+)`/g)) rows.set(v, defaults);
  }
  return rows;
}

const stops: Array<() => Promise<unknown>> = [];
let stack: NodeProcess;
let order: { order_id: string };

async function dropDatabase(): Promise<void> {
  await withClient(PG_ADMIN_URL, (db) => db.query(`drop database if exists ${DATABASE} with (force)`));
}
const stopRedis = () => {
  // README's own command for it
  const line = /Stop the Redis Cluster with `([^`]+ 17001)`/.exec(README)![1].replace("17001", String(REDIS_PORT));
  return shell(line, newcomerEnv(), ROOT).then(() => rmSync(resolve(ROOT, `.data/redis-cluster-${REDIS_PORT}`), { recursive: true, force: true }));
};

beforeAll(async () => {
  // what an interrupted run of this file may have left
  await stopRedis();
  await dropDatabase();
  stops.push(stopRedis, dropDatabase, async () => {
    const h = await connectJetStream(NATS_URL, "readme-test");
    await deleteStreams(h.jsm, streamNames(PREFIX));
    await h.nc.close();
  });

  const npmStart = quickStart().find((c) => c.line.startsWith("npm start"))!;
  const starting = start(npmStart.line, NPM_START_ENV);
  stops.unshift(() => starting.kill(15_000));
  await starting.printed(/watch it: .*\n/, 110_000);
  stack = starting;
}, 120_000);

afterAll(async () => {
  for (const stop of stops) await stop().catch((err) => console.error(`readme test cleanup: ${err}`));
}, 60_000);

test("the quick start starts the stack with `npm start` and tests it with `npm test`, two npm scripts", () => {
  const scripts = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")).scripts;
  const npm = quickStart().filter((c) => c.line.startsWith("npm "));
  expect(npm.map((c) => c.line)).toEqual(["npm start", "npm test"]);
  for (const c of npm) expect(scripts).toHaveProperty(c.line.split(" ")[1]);
});

test("`npm start` honours PORT, REDIS_CLUSTER_PORT and DATABASE_URL: its gateway, Redis Cluster and seeded product are the test's own", async () => {
  expect(stack.output()).toContain(`flash-sale listening on http://127.0.0.1:${PORT} `);
  expect(stack.output()).toContain(`redis-cluster[${REDIS_PORT}]: running (127.0.0.1:${REDIS_PORT},`);
  const { rows } = await withClient(DATABASE_URL, (db) => db.query<{ id: number; name: string }>("select id, name from products"));
  expect(rows).toEqual([{ id: 1, name: "Console" }]);
});

test("every curl of the quick start answers as README says", async () => {
  const curls = quickStart().filter((c) => c.line.startsWith("curl "));
  expect(curls.length).toBeGreaterThanOrEqual(5);
  for (const c of curls) {
    const line = order ? c.line.replaceAll("<order_id>", order.order_id) : c.line;
    expect(line).not.toMatch(/<\w+>/); // an order id comes from the POST before it
    const reply = await curl(line, PORT);
    expect({ line: c.line, status: reply.status }).toEqual({ line: c.line, status: c.status });
    expectFields(reply.body, c.fields ?? "");
    if (reply.status === 202) order = reply.body;
  }
});

test("the curls of README's fair-access section make a queue product, join its line and read it, as README says", async () => {
  const curls = quickStart("Fair access: a line that knows the stock").filter((c) => c.line.startsWith("curl "));
  expect(curls).toHaveLength(3);
  for (const c of curls) {
    const reply = await curl(c.line, PORT);
    expect({ line: c.line, status: reply.status }).toEqual({ line: c.line, status: c.status });
    expectFields(reply.body, c.fields ?? "");
  }
});

test("the curls `npm start` prints answer 200 and 202, and it names the development admin token", async () => {
  const printed = stack.output().split("\n").map((l) => l.trim()).filter((l) => l.startsWith("curl -s ")); // -sN: a live stream, it never ends
  expect(printed.map((l) => l.split(" ").find((w) => w.startsWith("http")))).toEqual([`http://127.0.0.1:${PORT}/api/products/1`, `http://127.0.0.1:${PORT}/api/orders`]);
  const statuses = [];
  for (const line of printed) statuses.push((await curl(line, PORT)).status);
  expect(statuses).toEqual([200, 202]);
  expect(stack.output()).toMatch(/sign in with .*dev-admin-token/);
});

test("the payment command of docs/operating.md pays an order", async () => {
  const placed = await curl(`curl -s -X POST localhost:3000/api/orders -H 'Content-Type: application/json' -d '{"product_id":1,"qty":1,"user_id":"u-pay"}'`, PORT);
  expect(placed.status).toBe(202);
  const line = /`([^`]+)` plays the payment provider/.exec(doc("operating.md"))![1].replace("<order_id>", placed.body.order_id);
  const { code, stderr } = await shell(line, newcomerEnv({ PORT: String(PORT) }), ROOT, 30_000);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  await eventually(async () => (await curl(`curl -s localhost:3000/api/orders/${placed.body.order_id}`, PORT)).body.status === "paid", 20_000, "the order paid");
});

test("with the BUYER_AUTH=jwt of docs/buyers.md a node prints a curl that sends the buyer's token and no user_id, and it buys", async () => {
  const example = /^BUYER_AUTH=jwt .*npm run node$/m.exec(doc("buyers.md"))![0];
  expect(example).toMatch(/BUYER_JWKS=https:/); // the example's identity provider: here, a secret of our own instead
  const node = start("npm run node", {
    BUYER_AUTH: "jwt", BUYER_JWT_SECRET: BUYER_SECRET, SERVICES: "gateway", NODE_ID: `${PREFIX}-jwt`,
    PORT: String(JWT_PORT), NATS_URL, STREAM_PREFIX: PREFIX, REDIS_NODES: [0, 1, 2].map((i) => `127.0.0.1:${REDIS_PORT + i}`).join(","),
    LOG_LEVEL: "warn", SHUTDOWN_DRAIN_MS: "0",
  });
  stops.unshift(() => node.kill(15_000));
  await node.printed(/watch it: .*\n/);
  const post = node.output().split("\n").map((l) => l.trim()).find((l) => l.startsWith("curl -s -X POST"))!;
  expect(post).toContain(`-H "Authorization: Bearer $BUYER_JWT"`);
  expect(post).not.toContain("user_id");
  const reply = await curl(post, JWT_PORT, { BUYER_JWT: await hs256({ sub: "readme-buyer" }) });
  expect(reply).toMatchObject({ status: 202, body: { status: "reserved", user_id: "readme-buyer" } });
}, 90_000);

test("docs/configuration.md's table has a row for every variable src/lib/config.ts reads, and for the ones this test gives `npm start`", () => {
  const config = readFileSync(resolve(ROOT, "src/lib/config.ts"), "utf8");
  const read = new Set([...config.matchAll(/env\.([A-Z][A-Z0-9_]+)|env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]));
  const documented = configurationTable();
  expect([...read, ...Object.keys(NPM_START_ENV)].filter((v) => !documented.has(v))).toEqual([]);
  expect([...CONFIGURATION.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).filter((v) => !documented.has(v))).toEqual([]); // no row outside the table
});

test("`npm start` runs with the TRANSPORTER the configuration table gives it: another node joins it over NATS", async () => {
  const cell = configurationTable().get("TRANSPORTER")!;
  const forNpmStart = (/`npm start`: `(\w+)`/.exec(cell) ?? /`(\w+)`/.exec(cell))![1];
  const broker = new ServiceBroker({
    ...brokerOptions(loadConfig({ NODE_ENV: "test", SERVICES: "none", TRANSPORTER: "nats", NATS_URL, STREAM_PREFIX: PREFIX })),
    nodeID: `readme-test-${process.pid}`,
    logger: false,
  });
  await broker.start();
  try {
    const joined = await broker.waitForServices(["inventory"], 10_000).then(() => "nats", () => "none");
    expect(joined).toBe(forNpmStart);
  } finally {
    await broker.stop();
  }
});

test("the typed client's imports, in README and in client/index.ts, name a path that resolves from the repository's root", () => {
  const usage = [
    /```ts\n([\s\S]*?)```/.exec(README.slice(README.indexOf("## The documents and the typed client")))![1],
    readFileSync(resolve(ROOT, "client/index.ts"), "utf8").split("*/")[0],
  ];
  const specifiers = usage.flatMap((text) => [...text.matchAll(/import \{[^}]*\} from "([^"]+)"/g)].map((m) => m[1]));
  expect(specifiers.length).toBe(2);
  for (const spec of specifiers) {
    // resolved by Node itself (jest's own module registry would resolve more than Node does)
    const found = spec.startsWith(".") ? existsSync(resolve(ROOT, spec))
      : spawnSync(process.execPath, ["--input-type=module", "-e", "import.meta.resolve(process.argv[1])", spec], { cwd: ROOT }).status === 0;
    expect({ spec, found }).toEqual({ spec, found: true });
  }
});
