/**
 * The operator's commands in the Moleculer REPL (`npm run repl`). Each one calls the
 * owning service's action through the cluster, like any other node would, and prints
 * aligned tables (./table.ts); `--json` prints the actions' answers as JSON instead,
 * for scripts.
 */
import type { ServiceBroker } from "moleculer";
import type { AuditReport, ShardState, SweepReport } from "../contracts/reports.ts";
import type { ProductView } from "../contracts/product-view.ts";
import type { ReservationRecord } from "../contracts/reservation.ts";
import type { LineStats } from "../contracts/line.ts";
import { fields, table, type Cell } from "./table.ts";

type Print = (...lines: unknown[]) => void;

export interface ReplArgs {
  [arg: string]: unknown;
  options?: { json?: boolean };
}

export interface ReplCommand {
  command: string;
  description: string;
  options: Array<{ option: string; description: string }>;
  action: (broker: ServiceBroker, args: ReplArgs) => Promise<void>;
}


/** An argument the operator typed wrong: the console answers with the command's usage. */
export class UsageError extends Error {}

const id = (v: unknown, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${v}"`);
  return n;
};

const JSON_OPTION = [{ option: "--json", description: "print the answer as JSON (for scripts)" }];

export function replCommands(print: Print = console.log): ReplCommand[] {
  /** prints `value` as JSON with --json, else what `render` makes of it */
  const answer = <T>(args: ReplArgs, value: T, render: (v: T) => string) =>
    print(args.options?.json ? JSON.stringify(value, null, 2) : render(value));

  const command = (
    name: string, description: string,
    action: (broker: ServiceBroker, args: ReplArgs) => Promise<void>,
  ): ReplCommand => ({ command: name, description, options: JSON_OPTION, action });

  return [
    command("line <productId>", "A product's line (queue or draw): waiting, entries open and used, no-shows, pace, pause", async (broker, args) => {
      const productId = id(args.productId, "productId");
      const line = await broker.call<LineStats, object>("inventory.lineStats", { product_id: productId });
      answer(args, line, (l) => table([{
        product: l.product_id, access: l.access, joined: l.joined, drawn: l.early_joiners ?? "not yet", waiting: l.waiting,
        admitted: l.admitted, open_entries: l.open_entries, used: l.used, no_shows: l.expired, left: l.left,
        per_second: l.admitted_per_second === null ? "-" : l.admitted_per_second.toFixed(1),
        pace: l.admit_per_second ?? "units", paused: l.paused,
      }], ["product", "access", "joined", "drawn", "waiting", "admitted", "open_entries", "used", "no_shows", "left", "per_second", "pace", "paused"]));
    }),
    command("stock <productId>", "A product's shard: stock, reserved, sold, reservations, and the product as buyers see it", async (broker, args) => {
      const productId = id(args.productId, "productId");
      const [shard, product] = await Promise.all([
        broker.call<ShardState, object>("inventory.shard", { product_id: productId }),
        broker.call<ProductView, object>("inventory.product", { id: productId }),
      ]);
      answer(args, { product, shard }, ({ product: p, shard: s }) => table([{
        product: p.id, name: p.name, stock_total: s.stock_total, available: s.available, reserved: s.reserved, sold: s.sold,
        reservations: s.reservations, per_user_limit: p.per_user_limit, buyers_see: p.stock_available, shard_loaded: s.loaded,
      }], ["product", "name", "stock_total", "available", "reserved", "sold", "reservations", "per_user_limit", "buyers_see", "shard_loaded"]));
    }),
    command("reservations <productId>", "The unpaid reservations a product's shard holds, oldest expiry first (up to 100)", async (broker, args) => {
      const productId = id(args.productId, "productId");
      const due = await broker.call<ReservationRecord[], object>("inventory.due", { product_id: productId, before: Number.MAX_SAFE_INTEGER, limit: 100 });
      answer(args, due, (rows) => table(rows, ["order_id", "user_id", "qty", "amount_cents", "created_at", "expires_at"]));
    }),
    command("holders <productId>", "Units held per user for a product (reserved + sold), against its per_user_limit", async (broker, args) => {
      const productId = id(args.productId, "productId");
      const holders = await broker.call<Record<string, number>, object>("inventory.holders", { product_id: productId });
      answer(args, holders, (h) => table(
        Object.entries(h).sort(([ua, a], [ub, b]) => b - a || ua.localeCompare(ub)).map(([user_id, units]) => ({ user_id, units })),
        ["user_id", "units"],
      ));
    }),
    command("audit [productId]", "Check every invariant of DESIGN.md; failures name the invariant and by how much", async (broker, args) => {
      const report = await broker.call<AuditReport, object>(
        "sweeper.audit", args.productId ? { product_id: id(args.productId, "productId") } : {},
      );
      answer(args, report, (r) => {
        const failures = r.products.flatMap((p) => p.failures.map((f) => ({ product: p.id, ...f })));
        return [
          `audit: ${r.ok ? "OK" : "NOT OK"} · pipeline drained: ${r.pipeline.drained ? "yes" : "no"} · in flight: ${r.pipeline.in_flight} · dead letters: ${r.pipeline.dead_letters}`,
          "",
          table(r.products.map((p) => ({ ...p, product: p.id })),
            ["product", "stock_total", "available", "reserved", "pending", "paid", "drift", "consistent"]),
          ...(failures.length > 0 ? ["", table(failures, ["product", "invariant", "by", "detail"])] : []),
        ].join("\n");
      });
    }),
    command("release <orderId>", "Release an unpaid order: cancel it (pending) or write off its reservation, and free its units", async (broker, args) => {
      answer(args, await broker.call<Record<string, Cell>, object>("orders.release", { id: args.orderId }), fields);
    }),
    command("rebuild <productId>", "Rebuild a product's shard from PostgreSQL plus the reservations in flight", async (broker, args) => {
      answer(args, await broker.call<Record<string, Cell>, object>("inventory.rebuild", { product_id: id(args.productId, "productId") }), fields);
    }),
    command("sweep", "Run the sweeper once now: expire unpaid orders, settle orphaned reservations", async (broker, args) => {
      answer(args, await broker.call<SweepReport, object>("sweeper.sweep", {}), (r) => fields({ ...r }));
    }),
    command("drain <nodeId>", "Take a node out for maintenance: it turns unready, finishes its work, stops; waits until it has left the cluster", async (broker, args) => {
      const nodeID = String(args.nodeId);
      if (!broker.registry.nodes.get(nodeID)?.available) throw new UsageError(`no node "${nodeID}" in the cluster`);
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
      answer(args, { node_id: nodeID, drained: true, seconds: Math.round((Date.now() - started) / 100) / 10 }, fields);
    }),
  ];
}

/**
 * An error an action answered with (ours or Moleculer's, e.g. SERVICE_NOT_AVAILABLE); one
 * thrown on another node comes back as a plain Error carrying its `type` (Moleculer
 * rebuilds only its own classes).
 */
const isClusterError = (err: unknown): err is Error & { type: string; data?: unknown } =>
  err instanceof Error && typeof (err as { type?: unknown }).type === "string";

/**
 * The commands as the console runs them: a mistake in the arguments (ours, or the
 * action's parameter validation) is answered with the command's usage, a refusal from
 * the cluster (not found, not available, …) with its type and message; only a bug
 * still reaches moleculer-repl, which logs its stack.
 */
export function forTheConsole(commands: ReplCommand[], print: Print = console.log): ReplCommand[] {
  return commands.map((c) => ({
    ...c,
    action: async (broker, args) => {
      try {
        await c.action(broker, args);
      } catch (err) {
        const usage = `usage: ${c.command} ${c.options.map((o) => `[${o.option}]`).join(" ")}`.trimEnd();
        if (err instanceof UsageError) print(`${err.message}\n${usage}`);
        else if (isClusterError(err) && err.type === "VALIDATION_ERROR") {
          const problems = Array.isArray(err.data) ? err.data.map((d: { message?: string }) => d.message) : [];
          print(`${problems.length > 0 ? problems.join("; ") : err.message}\n${usage}`);
        } else if (isClusterError(err)) print(`${err.type}: ${err.message}`);
        else throw err;
      }
    },
  }));
}
