/**
 * A node's graceful shutdown (SIGTERM, SIGINT, or the operator's `drain`), in order:
 *
 * 1. unready at once: GET /health/ready answers 503, so the load balancer stops
 *    sending new connections here;
 * 2. for SHUTDOWN_DRAIN_MS it keeps serving what still arrives (the balancer needs a
 *    check interval or two to notice), answering with `Connection: close`;
 * 3. the drain hooks run (the gateway closes its listener and waits for the requests
 *    it is answering);
 * 4. broker.stop(): the other nodes are told first (empty INFO: no new calls come
 *    here), running calls finish (Moleculer's request tracking), the order consumer
 *    finishes and acks its batch, connections close;
 * 5. the process exits — 0, or 1 when SHUTDOWN_TIMEOUT_MS passed first.
 */
import type { ServiceBroker } from "moleculer";

export type DrainHook = () => Promise<void>;

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
      await new Promise((resolve) => setTimeout(resolve, this.#drainMs));
      await Promise.all(this.#hooks.map((h) => h().catch((err) => log.warn("drain hook failed", err))));
      await this.#broker.stop();
      log.info("stopped cleanly");
    } finally {
      clearTimeout(hard);
    }
    exit?.(0);
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
