/**
 * The container's health check (Dockerfile HEALTHCHECK): exits 0 when this node
 * answers, 1 otherwise.
 *
 *   node scripts/probe.ts live    GET /health/live on the gateway's PORT
 *   node scripts/probe.ts ready   GET /health/ready on the gateway's PORT
 *
 * A node without the gateway has no API port: it is alive and ready while its
 * METRICS_PORT answers GET /metrics (its only HTTP listener).
 */
import { loadConfig } from "../src/lib/config.ts";

const PROBE_TIMEOUT_MS = 2500;

const kind = process.argv[2] ?? "live";
if (kind !== "live" && kind !== "ready") {
  console.error("usage: node scripts/probe.ts live|ready");
  process.exit(2);
}

const config = loadConfig();
const url = config.services.includes("gateway")
  ? `http://127.0.0.1:${config.port}/health/${kind}`
  : config.metricsPort
    ? `http://127.0.0.1:${config.metricsPort}/metrics`
    : null;
if (!url) {
  console.log("no HTTP listener to probe (no gateway, no METRICS_PORT): the process running is all there is to check");
  process.exit(0);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  await res.arrayBuffer();
  if (!res.ok) console.error(`${url} → ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`${url}: ${(err as Error).message}`);
  process.exit(1);
}
