/**
 * GET /docs in a real headless browser (Debian's chromium, installed by scripts/test.sh):
 * Swagger UI renders the document, and every request the page makes goes to the gateway
 * (read from Chromium's own network log), none is refused by the page's policy.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type Stack } from "../support/stack.ts";

let stack: Stack;
let dir: string;
beforeAll(async () => {
  stack = await startStack({ SERVICES: "gateway" });
  dir = mkdtempSync(join(tmpdir(), "flash-docs-browser-"));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface NetLog {
  constants: { logEventTypes: Record<string, number> };
  events: Array<{ type: number; params?: { url?: string; initiator?: string; network_isolation_key?: string } }>;
}

/** Loads `url` in headless Chromium until the page is idle; its DOM, its console, and its network log. */
function loadInChromium(url: string): Promise<{ dom: string; console: string; log: NetLog }> {
  const netLog = join(dir, "netlog.json");
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    // the browser's own traffic (updates, sync, spell-check dictionaries) is not the page's
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    `--user-data-dir=${join(dir, "profile")}`, `--log-net-log=${netLog}`, "--enable-logging=stderr", "--v=0",
    "--virtual-time-budget=10000", "--dump-dom", url,
  ];
  return new Promise((resolve, reject) => {
    execFile("chromium", args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`chromium: ${err.message}\n${stderr}`));
      const raw = readFileSync(netLog, "utf8");
      let log: NetLog;
      try {
        log = JSON.parse(raw);
      } catch {
        // a log closed mid-write lacks its last bracket
        log = JSON.parse(raw.replace(/,\s*$/, "") + "]}");
      }
      resolve({ dom: stdout, console: stderr, log });
    });
  });
}

test("/docs renders every operation from files of this gateway, and asks no other origin for anything", async () => {
  const origin = new URL(stack.baseUrl).origin;
  const { dom, console, log } = await loadInChromium(`${stack.baseUrl}/docs`);

  // Swagger UI ran (its script, from here) and rendered the document (fetched from here)
  for (const summary of ["Reserve units: the buy button", "A product and its live stock", "The payment provider's signed event"]) {
    expect(dom).toContain(summary);
  }
  expect(dom).toContain("opblock-summary");

  const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  const pageSite = `http://${new URL(origin).hostname}`;
  const pageRequests = log.events
    .filter((e) => e.type === startJob && e.params?.url)
    .filter((e) => e.params!.initiator === origin || e.params!.network_isolation_key?.startsWith(pageSite))
    .map((e) => e.params!.url!);
  expect(pageRequests).toEqual(expect.arrayContaining([
    `${origin}/docs`, `${origin}/docs/assets/swagger-ui-bundle.js`, `${origin}/docs/assets/swagger-ui.css`,
    `${origin}/docs/assets/api-reference.js`, `${origin}/api/openapi.json`,
  ]));
  expect(pageRequests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
  // a request the policy blocked never reaches the network log: the console names it
  expect(console).not.toMatch(/Refused to|Content Security Policy/);
});
