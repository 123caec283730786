/**
 * Builds a broker running the services named in config.services, plus `lifecycle`
 * (graceful shutdown and drain) on every node. Used by the run command
 * (scripts/run.ts), the tests and the benchmark, so all of them run the exact same
 * wiring. `exit` is what ends the process after a drain (the run command passes
 * process.exit; in-process tests pass nothing).
 */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import type { Config } from "../src/lib/config.ts";
import { attachLifecycle } from "../src/lib/lifecycle.ts";
import { brokerOptions } from "../moleculer.config.ts";
import gatewayService from "./gateway/gateway.service.ts";
import inventoryService from "./inventory/inventory.service.ts";
import ordersService from "./orders/orders.service.ts";
import paymentsService from "./payments/payments.service.ts";
import sweeperService from "./sweeper/sweeper.service.ts";
import lifecycleService from "./lifecycle/lifecycle.service.ts";

/** Each factory's schema is typed with its own methods; `any` here is what broker.createService takes. */
const FACTORIES: Record<string, (config: Readonly<Config>) => ServiceSchema<any, any, any>> = {
  gateway: gatewayService,
  inventory: inventoryService,
  orders: ordersService,
  payments: paymentsService,
  sweeper: sweeperService,
};

/** `overrides.middlewares` are added after the node's own (validation, timeouts, metrics), not instead of them. */
export function createBroker(config: Readonly<Config>, overrides: Partial<BrokerOptions> = {}, exit?: (code: number) => void): ServiceBroker {
  const base = brokerOptions(config);
  const middlewares = overrides.middlewares ? [...(base.middlewares ?? []), ...overrides.middlewares] : base.middlewares;
  // The node's lifecycle owns SIGTERM/SIGINT (scripts/run.ts): Moleculer's own handler
  // would stop the broker and exit at once, beside the drain, closing the port early.
  const broker = new ServiceBroker({ ...base, skipProcessEventRegistration: true, ...overrides, middlewares });
  const lifecycle = attachLifecycle(broker, { drainMs: config.shutdownDrainMs, timeoutMs: config.shutdownTimeoutMs });
  broker.createService(lifecycleService(lifecycle, exit));
  for (const name of config.services) broker.createService(FACTORIES[name](config));
  return broker;
}
