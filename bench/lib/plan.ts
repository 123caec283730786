/**
 * What one `npm run bench` does, from its command line: the scenarios and targets, the
 * sizes (--quick or full), the load generator, and the options that change how it runs.
 * Prints the usage for --help and exits 2 on a name it does not know.
 */
import { parseArgs } from "node:util";
import { GENERATORS } from "./drive.ts";
import { SCENARIOS, TARGETS, type ScenarioName, type Sizes, type TargetName } from "./types.ts";

export interface RunPlan {
  scenarios: ScenarioName[];
  targets: TargetName[];
  quick: boolean;
  sizes: Sizes;
  /** "auto": measure the bare ceiling with each generator, drive with the higher */
  generator: string;
  cpuProf: boolean;
  noSave: boolean;
  idempotencyKeys: boolean;
  /** the base URL of a stack already running (the drop only, nothing saved) */
  against?: string;
  adminToken?: string;
}

const USAGE = `usage: npm run bench -- [--quick] [--only ${SCENARIOS.join(",")}] [--targets ${TARGETS.join(",")}]
  --quick     small sizes (drop of 20,000 buyers / 1,000 units, 100 products): a few minutes
  --only      scenarios to run (default: all; winners: one product with more units than buyers)
  --targets   targets to run (default: all)
  --cpu-prof  write V8 CPU profiles of the service processes (node --cpu-prof) next to the logs
  --no-save   print only: no history section, JSON or chart
  (env BENCH_NODE_ARGS: extra node/V8 flags for every service process, e.g. "--trace-opt")
  --generator auto | wrk | autocannon (default auto: measure the bare ceiling with both, drive
              every scenario with the one that reaches the higher)
  --idempotency-keys  every order request carries its own Idempotency-Key (default: none, buyers
              that do not retry; a keyed sold-out answer costs the edge one Redis GET)
  --against URL  run only the drop against a stack already running at URL (its admin token:
              --admin-token or ADMIN_TOKEN); prints the numbers, saves nothing`;

export function parsePlan(args: string[] = process.argv.slice(2)): RunPlan {
  const { values: opts } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      targets: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      "no-save": { type: "boolean", default: false },
      generator: { type: "string", default: "auto" },
      against: { type: "string" },
      "idempotency-keys": { type: "boolean", default: false },
      "admin-token": { type: "string" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: false,
  });
  if (opts.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!["auto", ...GENERATORS].includes(opts.generator ?? "auto")) {
    console.error(`unknown --generator "${opts.generator}" (known: auto, ${GENERATORS.join(", ")})`);
    process.exit(2);
  }
  const quick = opts.quick ?? false;
  return {
    scenarios: pick(opts.only, SCENARIOS, "scenario"),
    targets: pick(opts.targets, TARGETS, "target"),
    quick,
    sizes: sizesFor(quick),
    generator: opts.generator ?? "auto",
    cpuProf: opts["cpu-prof"] ?? false,
    noSave: opts["no-save"] ?? false,
    idempotencyKeys: opts["idempotency-keys"] ?? false,
    against: opts.against,
    adminToken: opts["admin-token"],
  };
}

function pick<T extends string>(raw: string | undefined, all: readonly T[], what: string): T[] {
  if (!raw) return [...all];
  const wanted = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) {
    if (!all.includes(w as T)) {
      console.error(`unknown ${what} "${w}" (known: ${all.join(", ")})`);
      process.exit(2);
    }
  }
  return all.filter((a) => wanted.includes(a));
}

/** The full sizes, or --quick's (a tenth of the buyers and units, shorter time limits). */
function sizesFor(quick: boolean): Sizes {
  const q = quick;
  return {
    seed: { requests: 1_000, connections: 100, qty: 2, stock: 1_000 },
    drop: { buyers: q ? 20_000 : 200_000, units: q ? 1_000 : 10_000, connections: 200 },
    winners: { units: q ? 100_000 : 1_000_000, buyers: q ? 5_000 : 50_000, connections: 200 },
    many: { products: q ? 100 : 1_000, stock: 100, requests: q ? 5_000 : 50_000, connections: 200 },
    drain: { units: q ? 2_000 : 20_000, connections: 200 },
    warmup: { requests: q ? 500 : 1_000, stock: q ? 200 : 300, connections: 50 },
    per_user_limit: 2,
    max_per_order: 2,
    max_load_seconds: q ? 90 : 240,
    drain_timeout_seconds: q ? 90 : 180,
  };
}
