/**
 * HAProxy (Debian's) in front of the scale-out gateways: round robin over their ports,
 * keep-alive on both sides. It runs uncapped, like the load generator and the data servers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnProgram, type Child } from "./procs.ts";

export function startHaproxy(name: string, port: number, backends: number[], logDir: string, cwd: string): Child {
  const cfg = join(logDir, `${name}.cfg`);
  writeFileSync(cfg, [
    "global", "  maxconn 4000",
    "defaults", "  mode http", "  timeout connect 5s", "  timeout client 60s", "  timeout server 60s", "  option http-keep-alive",
    "frontend orders", `  bind 127.0.0.1:${port}`, "  default_backend gateways",
    "backend gateways", "  balance roundrobin", "  http-reuse always",
    ...backends.map((p, i) => `  server gw${i + 1} 127.0.0.1:${p}`),
    "",
  ].join("\n"));
  // -db: stay in the foreground, so this harness owns (and stops) the process
  return spawnProgram(name, "haproxy", ["-db", "-f", cfg], process.env, logDir, cwd);
}
