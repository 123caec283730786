/**
 * `npm run repl`: an operator's console that joins a running cluster over NATS as a
 * node without services, with the Moleculer REPL and our commands (type `help`).
 * A typo is answered with the command's usage (forTheConsole), not a stack trace.
 * NATS_URL and STREAM_PREFIX must match the cluster's (the namespace derives from it).
 */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../src/lib/config.ts";
import { brokerOptions } from "../moleculer.config.ts";
import { forTheConsole, replCommands } from "../src/ops/repl-commands.ts";

const config = loadConfig({ ...process.env, SERVICES: "none", TRANSPORTER: process.env.TRANSPORTER ?? "nats" });
const broker = new ServiceBroker({
  ...brokerOptions(config),
  nodeID: config.nodeId ?? `repl-${process.pid}`,
  logger: { type: "Console", options: { level: "warn" } },
  // read by broker.repl(): moleculer-repl's options
  replOptions: { customCommands: forTheConsole(replCommands()), delimiter: "flash $" },
} as unknown as ConstructorParameters<typeof ServiceBroker>[0]);
await broker.start();
broker.repl();
