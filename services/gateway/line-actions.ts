/**
 * The gateway's actions of a product's line (API.md, "Fair access"): join, read the line,
 * the challenge, one ticket (read, leave, follow), and the operator's patch. Each calls
 * the inventory's action of src/contracts/line.ts with `product_id`, so the Shard
 * strategy routes it to the node that owns the product and its line.
 *
 * The buyer is the body's `user_id` (BUYER_AUTH=none) or the token's `sub` (jwt, the
 * `buyer` route's authentication); with jwt a ticket is shown, followed and left only by
 * its buyer (the TicketView's `user_id`). A join counts against the buyer's and the
 * address's rate limits, the same buckets as POST /api/orders.
 */
import type { Context } from "moleculer";
import { FlashError, notFound, validation } from "../../src/lib/errors.ts";
import { joinLineParams, patchLineParams, productIdPathParams, ticketPathParams } from "../../src/lib/params.ts";
import type { LineJoin, LineJoined, LinePatch, LineStats, LineView, TicketReading, TicketRef, TicketView } from "../../src/contracts/line.ts";
import type { JoinGate } from "./join-gate.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { BuyerIdentity } from "./buyer-identity.ts";
import type { LiveUpdates } from "./live-updates.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { GatewayMeta } from "./routes.ts";

/** products whose challenge setting this gateway remembers, at most (then it starts over) */
const MAX_KNOWN_PRODUCTS = 100_000;

export interface LineActionsDeps {
  buyers: BuyerIdentity;
  limits: { users: RateLimiter; addresses: RateLimiter };
  live: LiveUpdates;
  /** the join's proof of work (./join-gate.ts) */
  gate: JoinGate;
}

type Ctx<P> = Context<P, GatewayMeta>;
type TicketPath = { id: number; ticket_id: string };

export function lineActions({ buyers, limits, live, gate }: LineActionsDeps) {
  /**
   * Whether joining a product's line asks a solved challenge: fixed when the product is
   * created, so read once per product (inventory.product), not per join.
   */
  const challengeOn = new Map<number, boolean>();
  async function asksChallenge(ctx: Ctx<unknown>, productId: number): Promise<boolean> {
    let on = challengeOn.get(productId);
    if (on === undefined) {
      const product = await ctx.call<ProductView, object>("inventory.product", { id: productId });
      on = product.challenge;
      if (challengeOn.size >= MAX_KNOWN_PRODUCTS) challengeOn.clear();
      challengeOn.set(productId, on);
    }
    return on;
  }

  const readTicket = async (ctx: Ctx<TicketPath>): Promise<TicketView> => {
    const { ticket } = await ctx.call<TicketReading, TicketRef>("inventory.lineTicket", { product_id: ctx.params.id, ticket_id: ctx.params.ticket_id });
    buyers.assertTicketBuyer(ctx.meta.user, ticket);
    return ticket;
  };

  return {
    joinLine: {
      params: joinLineParams,
      async handler(ctx: Ctx<{ id: number; user_id?: string; challenge?: string }>) {
        const { id, user_id: buyer } = buyers.bindOrderRequest(ctx.params, ctx.meta.user ?? null) as typeof ctx.params;
        if (buyer === undefined) throw validation("the request is invalid: user_id: a buyer is required to join a line", { user_id: "The 'user_id' field is required." });
        limits.users.admit(buyer);
        limits.addresses.admit(ctx.meta.address ?? "unknown");
        if (await asksChallenge(ctx, id)) await gate.check(ctx.params.challenge, id);
        const joined = await ctx.call<LineJoined, LineJoin>("inventory.lineJoin", { product_id: id, user_id: buyer });
        ctx.meta.$statusCode = joined.created ? 201 : 200;
        ctx.meta.$location = `/api/products/${id}/queue/${joined.ticket.ticket_id}`;
        return joined.ticket;
      },
    },
    line: {
      params: productIdPathParams,
      handler(ctx: Ctx<{ id: number }>) {
        return ctx.call<LineView, { product_id: number }>("inventory.line", { product_id: ctx.params.id });
      },
    },
    lineChallenge: {
      params: productIdPathParams,
      async handler(ctx: Ctx<{ id: number }>) {
        if (!(await asksChallenge(ctx, ctx.params.id))) throw notFound("NOT_FOUND", "the challenge is off for this product");
        const line = await ctx.call<LineStats, { product_id: number }>("inventory.lineStats", { product_id: ctx.params.id });
        return gate.issue(ctx.params.id, line);
      },
    },
    ticket: {
      params: ticketPathParams,
      handler: readTicket,
    },
    leaveLine: {
      params: ticketPathParams,
      async handler(ctx: Ctx<TicketPath>) {
        // with buyer tokens, only its buyer leaves it: read first (with none, its id is the proof)
        if (buyers.mode === "jwt") await readTicket(ctx);
        const { ticket } = await ctx.call<TicketReading, TicketRef>("inventory.lineLeave", { product_id: ctx.params.id, ticket_id: ctx.params.ticket_id });
        return ticket;
      },
    },
    ticketEvents: {
      params: ticketPathParams,
      handler(ctx: Ctx<TicketPath>) {
        return live.openTicket(ctx.params.id, ctx.params.ticket_id, (ticket) => buyers.assertTicketBuyer(ctx.meta.user, ticket));
      },
    },
    patchLine: {
      params: patchLineParams,
      handler(ctx: Ctx<{ id: number; admit_per_second?: number | null; paused?: boolean }>) {
        const { id, ...patch } = ctx.params;
        return ctx.call<LineView, LinePatch>("inventory.linePatch", { product_id: id, ...patch });
      },
    },
  };
}
