/**
 * What idle live-update streams cost a gateway: `npm run bench:sse -- --url
 * http://127.0.0.1:3000 --pid <gateway node pid> [--streams 5000] [--seconds 20]
 * [--token <ADMIN_TOKEN>]`.
 *
 * Opens `--streams` product streams (GET /api/products/{id}/events, one product, each
 * its own connection) against a running node, waits until every one got its first
 * event, then reads, from /proc, the node's resident memory before and after (memory
 * per stream) and its CPU time over `--seconds` of idleness (the heartbeat: a comment
 * line on every stream each SSE_HEARTBEAT_MS, plus one product re-read per heartbeat).
 * Run the node with a short SSE_HEARTBEAT_MS (e.g. 1000) for more heartbeats per
 * second measured; the CPU is reported per heartbeat and per stream, so it scales to
 * the default interval. The load generator shares the machine: say so with the numbers.
 */
import { parseArgs } from "node:util";
import { request, type ClientRequest } from "node:http";
import { readFileSync } from "node:fs";
import { cpuSeconds } from "./lib/cpu.ts";
import { Admin } from "./lib/service.ts";
import { sleep } from "./lib/procs.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:3000" },
    pid: { type: "string" },
    streams: { type: "string", default: "5000" },
    seconds: { type: "string", default: "20" },
    token: { type: "string", default: process.env.ADMIN_TOKEN ?? "dev-admin-token" },
  },
});
const pid = Number(values.pid);
if (!Number.isInteger(pid) || pid <= 0 || cpuSeconds(pid) === 0) {
  console.error("usage: npm run bench:sse -- --url <base> --pid <pid of the gateway node> [--streams 5000] [--seconds 20]");
  process.exit(2);
}
const total = Number(values.streams);
const seconds = Number(values.seconds);
const base = values.url!;

/** Resident memory of the node, MiB, from /proc/<pid>/status. */
function rssMiB(): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

interface Held {
  req: ClientRequest;
  events: number;
  comments: number;
}

function open(path: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const held: Held = { req: undefined as unknown as ClientRequest, events: 0, comments: 0 };
    held.req = request(base + path, { agent: false, headers: { accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        held.events += chunk.split("event: ").length - 1;
        held.comments += chunk.split("\n: ").length - 1 + (chunk.startsWith(": ") ? 1 : 0);
        if (held.events > 0) resolve(held);
      });
    });
    held.req.on("error", reject);
    held.req.end();
  });
}

const admin = new Admin(base, values.token!);
const productId = await admin.createProduct({ name: "SSE idle bench", price_cents: 100, stock: 1000 });
const path = `/api/products/${productId}/events`;

await sleep(2000);
const rss0 = rssMiB();
const idle0 = cpuSeconds(pid);
await sleep(seconds * 1000);
const idleCpu = cpuSeconds(pid) - idle0;

const t0 = Date.now();
const cpuOpen0 = cpuSeconds(pid);
const held: Held[] = [];
for (let i = 0; i < total; i += 200) {
  held.push(...(await Promise.all(Array.from({ length: Math.min(200, total - i) }, () => open(path)))));
}
const openMs = Date.now() - t0;
const openCpu = cpuSeconds(pid) - cpuOpen0;
await sleep(3000);
const rss1 = rssMiB();

const comments0 = held.reduce((s, h) => s + h.comments, 0);
const cpu0 = cpuSeconds(pid);
const w0 = Date.now();
await sleep(seconds * 1000);
const cpu = cpuSeconds(pid) - cpu0;
const windowS = (Date.now() - w0) / 1000;
const beats = (held.reduce((s, h) => s + h.comments, 0) - comments0) / held.length;
const rss2 = rssMiB();

for (const h of held) h.req.destroy();
await sleep(3000);
const rss3 = rssMiB();

const heartbeatCpu = cpu - (idleCpu * windowS) / seconds;
const result = {
  streams: held.length,
  open_s: openMs / 1000,
  open_cpu_ms_per_stream: (openCpu * 1000) / held.length,
  rss_mib: { before: rss0, streams_open: rss1, after_idle_window: rss2, after_close: rss3 },
  rss_kib_per_stream: ((rss2 - rss0) * 1024) / held.length,
  window_s: windowS,
  heartbeats_per_stream: beats,
  node_cpu_s_idle_without_streams: idleCpu,
  node_cpu_s_with_streams: cpu,
  cpu_percent_of_one_core_for_heartbeats: (100 * heartbeatCpu) / windowS,
  cpu_us_per_stream_per_heartbeat: beats > 0 ? (heartbeatCpu * 1e6) / (beats * held.length) : null,
};
console.log(JSON.stringify(result, null, 2));
process.exit(0);
