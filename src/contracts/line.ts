/**
 * What the gateway asks of the inventory about a product's line (API.md, "Fair
 * access"), and the event it hears when a line moves. The views themselves are
 * src/domain/line-view.ts (TicketView, LineView). Every action is routed to the node
 * that owns the product (the Shard strategy, like inventory.reserveMany), so the line's
 * pace and its admission timer live in one place.
 *
 *   inventory.lineJoin   { product_id, user_id }            → { created: boolean, ticket: TicketView, served }
 *        refusals: PRODUCT_NOT_FOUND, QUEUE_NOT_OPEN (before queue_opens_at, or an `open`
 *        product), QUEUE_CLOSED (a draw after its draw, or after sale_ends_at)
 *   inventory.lineTicket { product_id, ticket_id }          → { ticket: TicketView, served }   (TICKET_NOT_FOUND)
 *   inventory.lineLeave  { product_id, ticket_id }          → { ticket: TicketView, served }, now `left` (or its final status)
 *   inventory.line       { product_id }                     → LineView     (PRODUCT_NOT_FOUND; QUEUE_NOT_OPEN for an `open` product)
 *   inventory.linePatch  { product_id, admit_per_second?: number | null, paused?: boolean } → LineView
 *   inventory.lineStats  { product_id }                     → LineStats (operators: REPL, dashboard, metrics)
 *
 * A TicketView carries `user_id`: the gateway compares it with the caller's identity
 * (BUYER_AUTH=jwt: 403 for another buyer's ticket) before showing it. `entry_token` is
 * set while the ticket is `admitted` (signed by the inventory with ENTRY_TOKEN_SECRET,
 * src/domain/entry-token.ts; the gateway verifies it with the same secret).
 */
import type { LineView, TicketView } from "../domain/line-view.ts";

export type { LineView, TicketView };

export interface LineJoin {
  product_id: number;
  user_id: string;
}

/**
 * A ticket as read, with the places the line had passed then: a waiting ticket's place
 * is `position + served` and does not change, so a gateway moves its position from the
 * `served` of each LINE_CHANGED_EVENT without reading it again.
 */
export interface TicketReading {
  ticket: TicketView;
  served: number;
}

export interface LineJoined extends TicketReading {
  /** false: the buyer already held a live ticket, answered as it is (200, not 201) */
  created: boolean;
}

export interface TicketRef {
  product_id: number;
  ticket_id: string;
}

export interface LinePatch {
  product_id: number;
  admit_per_second?: number | null;
  paused?: boolean;
}

/**
 * Broadcast by the inventory after each admission step that changed something, and
 * after a leave or patch: a gateway pushes the new state to the ticket streams it holds
 * for the product. A position change costs no read (place − served, coalesced to at most
 * one push a second per stream); the tickets named in `changed` (or every one, `all`)
 * are read again (inventory.lineTicket) and pushed at once.
 */
export const LINE_CHANGED_EVENT = "line.changed";

export interface LineChanged {
  product_id: number;
  /** places passed so far (positions of waiting tickets move with it) */
  served: number;
  /** tickets whose status changed in this step (admitted, expired, used, left), for an immediate push */
  changed: string[];
  /** true when every waiting ticket's status flipped (sold out, or units back after sold out, or the sale ended) */
  all: boolean;
}

/** A line as operators watch it (REPL `line`, the dashboard, Prometheus). */
export interface LineStats extends LineView {
  /** entries issued and not yet used or expired (their units set aside) */
  open_entries: number;
  /** units set aside for them */
  aside: number;
  /** entries that placed their order */
  used: number;
  /** no-shows: entries that expired unused (their units went back to the line) */
  expired: number;
  /** tickets that left the line (waiting or admitted) */
  left: number;
  /** entries issued per second lately, as the owner measures it (null: none yet) */
  admitted_per_second: number | null;
  /** joins per second lately, as the owner measures it (the join challenge's difficulty follows it) */
  joins_per_second: number;
}
