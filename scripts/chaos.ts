/**
 * A seeded chaos run with a checked history (docs/chaos.md):
 *
 *   npm run chaos -- --seed 7 --minutes 5
 *
 * brings up a cluster of its own (scripts/cluster.sh), runs buyers and a nemesis whose
 * faults come from the seed, checks the history and the final database, prints the
 * report and exits 0 only with zero anomalies. The report (JSON) goes to
 * bench/results/chaos/, the history (JSON lines) to .data/chaos/. Runs as root (the
 * partition uses iptables). CLUSTER_PORT_BASE (17400) and PORT (17490) place the
 * cluster: base..base+40 and PORT must be free.
 */
import { parseArgs } from "node:util";
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatReport, runChaos } from "../test/chaos/run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { seed: { type: "string" }, minutes: { type: "string", default: "5" }, workers: { type: "string", default: "8" } } });
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const minutes = Number(values.minutes);
const base = Number(process.env.CLUSTER_PORT_BASE ?? 17400);
const port = Number(process.env.PORT ?? 17490);
if (!Number.isInteger(seed) || seed < 0 || !(minutes > 0 && minutes <= 600) || !Number.isInteger(base) || !Number.isInteger(port)) {
  console.error("usage: npm run chaos -- --seed N --minutes M [--workers W]   (CLUSTER_PORT_BASE, PORT place the cluster)");
  process.exit(2);
}
const report = await runChaos({ seed, minutes, base, port, workers: Number(values.workers), outDir: join(ROOT, ".data/chaos") });
const results = join(ROOT, "bench/results/chaos");
mkdirSync(results, { recursive: true });
const reportFile = report.history_file.replace(/\.history\.jsonl$/, ".report.json");
copyFileSync(reportFile, join(results, basename(reportFile)));
console.log(formatReport(report));
process.exit(report.anomalies.length === 0 ? 0 : 1);
