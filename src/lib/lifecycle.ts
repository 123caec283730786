/**
 * A node's graceful shutdown (SIGTERM, SIGINT, or the operator's `drain`), in order:
 *
 * 1. unready at once: GET /health/ready answers 503, so the load balancer stops
 *    sending new connections here; and at once the node withdraws its services from
 *    the other nodes' registries (an INFO without them; `lifecycle` and `gateway`
 *    stay listed: they are asked by node id, never balanced), so their balancers send
 *    it no new calls. It pings every other node: a node's PONG comes after it handled
 *    the INFO (one connection, in order), so once every node answered, every call
 *    routed here by a registry that still listed this node has arrived (a caller
 *    whose event loop is late sees the INFO late: it is waited for, up to
 *    WITHDRAW_ACK_MS or SHUTDOWN_DRAIN_MS, the longer);
 * 2. for SHUTDOWN_DRAIN_MS, and until those answers came, it keeps serving what still
 *    arrives (the balancer needs a check interval or two to notice), answering with
 *    `Connection: close`;
 * 3. the drain hooks run (the gateway closes its listener and waits for the requests
 *    it is answering);
 * 4. broker.stop(): the other nodes are told again (empty INFO), running calls finish
 *    (Moleculer's request tracking), the order consumer finishes and acks its batch,
 *    connections close;
 * 5. the process exits — 0, or 1 when SHUTDOWN_TIMEOUT_MS passed first.
 *
 * Without step 1's withdrawal the node left the registries only in broker.stop(), whose
 * stopDelay (500 ms) later it refuses new calls (ServiceNotAvailable) and then stops
 * listening (the caller's call is rejected when the goodbye reaches it): a caller more
 * than that behind lost the calls it routed here meanwhile, and only the idempotent
 * actions are retried (test/integration/drain-withdrawal.test.ts).
 */
import type { ServiceBroker } from "moleculer";

export type DrainHook = () => Promise<void>;

/** Services that stay in the other nodes' registries while the node drains: called by node id, never balanced. */
const LISTED_WHILE_DRAINING = new Set(["$node", "lifecycle", "gateway"]);
/** The longest a drain waits for the other nodes to acknowledge the withdrawal (a stalled node does not hold it longer). */
export const WITHDRAW_ACK_MS = 5000;

interface RegistryInternals {
  regenerateLocalRawInfo(incSeq?: boolean, isStopping?: boolean): { services: Array<{ name: string }> };
  discoverer: { sendLocalNodeInfo(nodeID?: string): Promise<void> };
  getNodeList(opts: { onlyAvailable: boolean; withServices: boolean }): Array<{ id: string; local: boolean; lastHeartbeatTime: number }>;
}

export class Lifecycle {
  readonly #broker: ServiceBroker;
  readonly #drainMs: number;
  readonly #timeoutMs: number;
  readonly #hooks: DrainHook[] = [];
  #draining = false;
  #done: Promise<void> | null = null;

  constructor(broker: ServiceBroker, opts: { drainMs: number; timeoutMs: number }) {
    this.#broker = broker;
    this.#drainMs = opts.drainMs;
    this.#timeoutMs = opts.timeoutMs;
  }

  /** True from the first moment of a shutdown: readiness answers 503. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Work to finish between the drain period and broker.stop() (the gateway's listener). */
  onDrain(hook: DrainHook): void {
    this.#hooks.push(hook);
  }

  /**
   * Runs the shutdown once (later calls get the same promise). `exit` is called at the
   * end with 0, or with 1 if the whole took longer than SHUTDOWN_TIMEOUT_MS.
   */
  shutdown(reason: string, exit?: (code: number) => void): Promise<void> {
    this.#done ??= this.#run(reason, exit);
    return this.#done;
  }

  async #run(reason: string, exit?: (code: number) => void): Promise<void> {
    this.#draining = true;
    const log = this.#broker.logger;
    log.info(`shutting down (${reason}): unready now, draining for ${this.#drainMs} ms`);
    const hard = setTimeout(() => {
      log.error(`shutdown took longer than ${this.#timeoutMs} ms: exiting anyway`);
      exit?.(1);
    }, this.#timeoutMs);
    hard.unref();
    try {
      await Promise.all([new Promise((resolve) => setTimeout(resolve, this.#drainMs)), this.#withdraw().catch((err) => log.warn("withdrawal from the registries failed", err))]);
      await Promise.all(this.#hooks.map((h) => h().catch((err) => log.warn("drain hook failed", err))));
      await this.#broker.stop();
      log.info("stopped cleanly");
    } finally {
      clearTimeout(hard);
    }
    exit?.(0);
  }

  /**
   * Takes this node's balanced services out of the other nodes' registries, and resolves
   * once every other node has handled that (its PONG to a PING sent after the INFO), or
   * after WITHDRAW_ACK_MS (the drain period if longer). Every INFO this node sends from
   * now on (an answer to a newcomer's DISCOVER, broker.stop()'s) leaves them out too.
   */
  async #withdraw(): Promise<void> {
    const broker = this.#broker;
    if (!broker.transit) return;
    const registry = broker.registry as unknown as RegistryInternals;
    const regenerate = registry.regenerateLocalRawInfo.bind(registry);
    registry.regenerateLocalRawInfo = (incSeq, isStopping) => {
      const info = regenerate(incSeq, isStopping);
      info.services = info.services.filter((s) => LISTED_WHILE_DRAINING.has(s.name));
      return info;
    };
    registry.regenerateLocalRawInfo(true);
    await registry.discoverer.sendLocalNodeInfo();
    // the nodes that are there: one that went without a goodbye (killed) is listed until
    // its heartbeats are missed, and would only make this wait its whole bound
    const heardSince = Math.round(process.uptime()) - 2 * (broker.options.heartbeatInterval ?? 5);
    const others = registry.getNodeList({ onlyAvailable: true, withServices: false })
      .filter((n) => !n.local && n.lastHeartbeatTime >= heardSince).map((n) => n.id);
    if (others.length === 0) return;
    const pongs = (await broker.ping(others, Math.max(this.#drainMs, WITHDRAW_ACK_MS))) as unknown as Record<string, unknown>;
    const late = Object.keys(pongs).filter((id) => pongs[id] === null);
    if (late.length > 0) broker.logger.warn(`withdrawn from the registries; no acknowledgement from ${late.join(", ")}`);
    else broker.logger.info(`withdrawn from the registries of ${Object.keys(pongs).length} node(s)`);
  }
}

const lifecycles = new WeakMap<ServiceBroker, Lifecycle>();

export function attachLifecycle(broker: ServiceBroker, opts: { drainMs: number; timeoutMs: number }): Lifecycle {
  const lc = new Lifecycle(broker, opts);
  lifecycles.set(broker, lc);
  return lc;
}

/** The lifecycle of a broker built by createBroker (services/index.ts). */
export function lifecycleOf(broker: ServiceBroker): Lifecycle {
  const lc = lifecycles.get(broker);
  if (!lc) throw new Error(`broker ${broker.nodeID} has no lifecycle (build it with createBroker)`);
  return lc;
}
