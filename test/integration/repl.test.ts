/**
 * `npm run repl` as an operator meets it: the console in a terminal (a tmux session of
 * this test's own), joined over NATS to a real node of a test stack. A typo is answered
 * with the command's usage, never a JavaScript stack trace.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { startStack, eventually, type Stack } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const SOCKET = `flash-repl-test-${process.pid}`;
const tmux = (...args: string[]) => run("tmux", ["-L", SOCKET, ...args]);
const screen = async () => (await tmux("capture-pane", "-p", "-J", "-t", "repl", "-S", "-")).stdout;

/**
 * Types `line` until the console knows the node's services (it learns them from the
 * node's first heartbeat; until then a call is SERVICE_NOT_AVAILABLE).
 */
const typeAfterDiscovery = (line: string) =>
  eventually(async () => {
    const answer = await type(line);
    return answer.startsWith("SERVICE_NOT_AVAILABLE") ? null : answer;
  }, 20_000, `"${line}" to reach the node`);

/** Types `line` at the prompt and resolves with what the console printed for it. */
async function type(line: string): Promise<string> {
  const before = (await screen()).trimEnd();
  await tmux("send-keys", "-t", "repl", "-l", line);
  await tmux("send-keys", "-t", "repl", "Enter");
  return eventually(async () => {
    const after = (await screen()).trimEnd();
    if (!after.startsWith(before) || !after.endsWith("flash $")) return null;
    const answer = after.slice(before.length).split("\n").slice(1, -1).join("\n"); // between the echoed line and the next prompt
    return answer;
  }, 20_000, `the console's answer to "${line}"`);
}

let stack: Stack;
let home: string;
let productId: number;
let queueId: number;

beforeAll(async () => {
  stack = await startStack({ TRANSPORTER: "nats" });
  productId = (await stack.createProduct({ stock: 5 })).id;
  queueId = (await stack.createProduct({ stock: 5, access: "queue", sale_starts_at: new Date(Date.now() + 3_600_000).toISOString() })).id;
  await stack.broker.call("inventory.lineJoin", { product_id: queueId, user_id: "first" });
  home = mkdtempSync(join(tmpdir(), "flash-repl-")); // the REPL's history file goes there
  const env = { NODE_ENV: "test", NATS_URL: stack.config.natsUrl, STREAM_PREFIX: stack.config.streamPrefix, HOME: home, PATH: process.env.PATH ?? "" };
  const command = ["exec", "env", ...Object.entries(env).map(([k, v]) => `${k}='${v}'`), `'${process.execPath}'`, "scripts/repl.ts"].join(" ");
  await tmux("new-session", "-d", "-s", "repl", "-x", "200", "-y", "50", "-c", ROOT, command);
  await eventually(async () => (await screen()).trimEnd().endsWith("flash $"), 30_000, "the console's prompt");
}, 60_000);

afterAll(async () => {
  await tmux("kill-server").catch(() => undefined); // the session's process gets SIGHUP
  if (home) rmSync(home, { recursive: true, force: true });
  await stack?.stop();
});

test.each([
  ["stock abc", /^productId must be a positive integer, got "abc"\nusage: stock <productId> \[--json\]$/],
  ["holders -1", /^productId must be a positive integer, got "-1"\nusage: holders <productId> \[--json\]$/],
  ["audit x --json", /^productId must be a positive integer, got "x"\nusage: audit \[productId\] \[--json\]$/],
  ["release not-an-id", /^The 'id' field must be a valid UUID\.\nusage: release <orderId> \[--json\]$/],
  ["drain no-such-node", /^no node "no-such-node" in the cluster\nusage: drain <nodeId> \[--json\]$/],
])("a typo (%s) is answered with the command's usage, no stack trace", async (line, expected) => {
  expect(await type(line)).toMatch(expected);
});

test("`line` shows a product's line as a table: joined, waiting, entries, no-shows, pace", async () => {
  const answer = await typeAfterDiscovery(`line ${queueId}`);
  expect(answer.split("\n")[0]).toMatch(/^\s*product\s+access\s+joined\s+drawn\s+waiting\s+admitted\s+open_entries\s+used\s+no_shows\s+left\s+per_second\s+pace\s+paused/);
  expect(answer.split("\n")[2]).toMatch(new RegExp(`^\\s*${queueId}\\s+queue\\s+1\\s+not yet\\s+1\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\.0\\s+units\\s+no`));
  expect(await typeAfterDiscovery(`line ${productId}`)).toBe(`QUEUE_NOT_OPEN: product ${productId} is sold open: it has no line`);
});

test("something the cluster refuses (an unknown product) is one line with its code", async () => {
  const answer = await typeAfterDiscovery("stock 999999999");
  expect(answer).toBe("PRODUCT_NOT_FOUND: product 999999999 does not exist");
});

test("a well-formed command answers from the node as before", async () => {
  const answer = await typeAfterDiscovery(`stock ${productId}`);
  expect(answer.split("\n")[0]).toMatch(/^\s*product\s+name\s+stock_total/);
  expect(answer.split("\n")[2]).toMatch(new RegExp(`^\\s*${productId}\\s+Test product\\s+5\\s+5\\s`));
});
