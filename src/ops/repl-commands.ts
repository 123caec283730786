/**
 * The operator's commands in the Moleculer REPL (`npm run repl`). Each one calls the
 * owning service's action through the cluster, like any other node would.
 */
import type { ServiceBroker } from "moleculer";

type Print = (...lines: unknown[]) => void;

export interface ReplCommand {
  command: string;
  description: string;
  action: (broker: ServiceBroker, args: Record<string, string>) => Promise<void>;
}

const id = (v: string | undefined, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got "${v}"`);
  return n;
};

export function replCommands(print: Print = console.log): ReplCommand[] {
  const show = (value: unknown) => print(JSON.stringify(value, null, 2));
  return [
    {
      command: "stock <productId>",
      description: "A product's shard: stock, reserved, sold, reservations, and the product as buyers see it",
      async action(broker, args) {
        const productId = id(args.productId, "productId");
        const [shard, product] = await Promise.all([
          broker.call("inventory.shard", { product_id: productId }),
          broker.call("inventory.product", { id: productId }),
        ]);
        show({ product, shard });
      },
    },
    {
      command: "reservations <productId>",
      description: "The unpaid reservations a product's shard holds, oldest expiry first (up to 100)",
      async action(broker, args) {
        const productId = id(args.productId, "productId");
        show(await broker.call("inventory.due", { product_id: productId, before: Number.MAX_SAFE_INTEGER, limit: 100 }));
      },
    },
    {
      command: "holders <productId>",
      description: "Units held per user for a product (reserved + sold), against its per_user_limit",
      async action(broker, args) {
        show(await broker.call("inventory.holders", { product_id: id(args.productId, "productId") }));
      },
    },
    {
      command: "audit [productId]",
      description: "Check every invariant of DESIGN.md; failures name the invariant and by how much",
      async action(broker, args) {
        const report = await broker.call<{ ok: boolean }, object>(
          "sweeper.audit", args.productId ? { product_id: id(args.productId, "productId") } : {},
        );
        show(report);
      },
    },
    {
      command: "release <orderId>",
      description: "Release an unpaid order: cancel it (pending) or write off its reservation, and free its units",
      async action(broker, args) {
        show(await broker.call("orders.release", { id: args.orderId }));
      },
    },
    {
      command: "rebuild <productId>",
      description: "Rebuild a product's shard from PostgreSQL plus the reservations in flight",
      async action(broker, args) {
        show(await broker.call("inventory.rebuild", { product_id: id(args.productId, "productId") }));
      },
    },
    {
      command: "sweep",
      description: "Run the sweeper once now: expire unpaid orders, settle orphaned reservations",
      async action(broker) {
        show(await broker.call("sweeper.sweep", {}));
      },
    },
    {
      command: "drain <nodeId>",
      description: "Take a node out for maintenance: it turns unready, finishes its work, stops; waits until it has left the cluster",
      async action(broker, args) {
        const nodeID = args.nodeId;
        if (!broker.registry.nodes.get(nodeID)?.available) throw new Error(`no node "${nodeID}" in the cluster`);
        await broker.call("lifecycle.drain", {}, { nodeID });
        const started = Date.now();
        // the node says goodbye when its broker stops (or is taken off after its heartbeats stop)
        await new Promise<void>((resolve) => {
          const check = () => {
            if (!broker.registry.nodes.get(nodeID)?.available) return resolve();
            setTimeout(check, 100);
          };
          check();
        });
        show({ node_id: nodeID, drained: true, seconds: Math.round((Date.now() - started) / 100) / 10 });
      },
    },
  ];
}
