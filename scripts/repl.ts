/**
 * `npm run repl`: an operator's console that joins a running cluster over NATS as a
 * node without services, with the Moleculer REPL and our commands (type `help`).
 * NATS_URL and STREAM_PREFIX must match the cluster's (the namespace derives from it).
 */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../src/lib/config.ts";
import { brokerOptions } from "../moleculer.config.ts";
import { replCommands } from "../src/ops/repl-commands.ts";

const config = loadConfig({ ...process.env, SERVICES: "none", TRANSPORTER: process.env.TRANSPORTER ?? "nats" });
const broker = new ServiceBroker({
  ...brokerOptions(config),
  nodeID: config.nodeId ?? `repl-${process.pid}`,
  logger: { type: "Console", options: { level: "warn" } },
});
await broker.start();
// moleculer-repl adds `repl(opts)` to the broker; moleculer's own typings know only `repl()`.
(broker as unknown as { repl: (opts: object) => void }).repl({ customCommands: replCommands(), delimiter: "flash $" });
