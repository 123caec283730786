/**
 * lifecycle: runs on every node. `drain` (called on one node by its id, e.g. from the
 * REPL's `drain <nodeID>`) starts that node's graceful shutdown (src/lib/lifecycle.ts)
 * and answers at once; `state` tells whether a node is draining.
 */
import type { Lifecycle } from "../../src/lib/lifecycle.ts";
import type { TypedServiceSchema } from "../../src/lib/service-schema.ts";

export default function lifecycleService(lifecycle: Lifecycle, exit?: (code: number) => void): TypedServiceSchema {
  return {
    name: "lifecycle",

    actions: {
      drain: {
        params: { $$strict: "remove" },
        handler() {
          void lifecycle.shutdown("drain requested", exit);
          return { node_id: this.broker.nodeID, draining: true };
        },
      },
      state: {
        handler() {
          return { node_id: this.broker.nodeID, draining: lifecycle.draining };
        },
      },
    },
  };
}
