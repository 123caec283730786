/**
 * What a line and its tickets look like to buyers (API.md, "Fair access"), from one
 * reading of the line's state (lineRead-4.lua) and the seed's permutation: statuses
 * that are never written per ticket (`sold_out`, `lost`) are read off the line here,
 * and a ticket's position is its place minus the places the line has passed (leavers
 * still counted until the line passes them: never less than the true place).
 */
import { LineOrder, ALGORITHM } from "./line-order.ts";

export type Access = "queue" | "draw";
export type TicketStatus = "waiting" | "admitted" | "used" | "expired" | "sold_out" | "lost" | "left";

/** What a line is opened with (the product's access fields). Times in ms. */
export interface LineSettings {
  mode: Access;
  opensAt: number;
  drawsAt: number;
  endsAt: number | null;
  perEntry: number;
  entryTtlMs: number;
  admitPerSecond: number | null;
}

/** One reading of a line (lineRead-4.lua's reply, parsed). Times in ms. */
export interface LineState extends LineSettings {
  paused: boolean;
  seedSha256: string;
  /** hex, once the draw fixed the order; null before */
  seed: string | null;
  joined: number;
  /** tickets that joined before the draw; null before it */
  early: number | null;
  served: number;
  aside: number;
  admitted: number;
  expired: number;
  leftWaiting: number;
  leftAdmitted: number;
  available: number;
  /** units of unpaid reservations of the product */
  reserved: number;
}

export interface TicketRecord {
  join: number;
  user: string;
  joinedAt: number;
  /** w waiting, a admitted, u used, x expired, l left (includes/lineTicket.lua) */
  code: "w" | "a" | "u" | "x" | "l";
  entryExpiresAt: number | null;
  orderId: string | null;
}

export interface TicketView {
  ticket_id: string;
  product_id: number;
  user_id: string;
  status: TicketStatus;
  join_number: number;
  position: number | null;
  eta_seconds: number | null;
  joined_at: string;
  entry_token: string | null;
  entry_expires_at: string | null;
}

export interface LineView {
  product_id: number;
  access: Access;
  opens_at: string;
  draws_at: string;
  seed_sha256: string;
  seed: string | null;
  algorithm: string;
  early_joiners: number | null;
  joined: number;
  admitted: number;
  waiting: number;
  paused: boolean;
  admit_per_second: number | null;
}

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v === "" || v === null || v === undefined ? null : Number(v));

/** lineRead-4.lua's READ reply (after its code) as a LineState and the ticket's record, if any. */
export function parseLineReading(reply: ArrayLike<unknown>): { state: LineState; ticket: TicketRecord | null } {
  const r = Array.from(reply);
  const state: LineState = {
    mode: String(r[1]) as Access, opensAt: num(r[2]), drawsAt: num(r[3]), endsAt: optNum(r[4]), perEntry: num(r[5]),
    entryTtlMs: num(r[6]), admitPerSecond: num(r[7]) > 0 ? num(r[7]) : null, paused: String(r[8]) === "1",
    seedSha256: String(r[9]), seed: r[10] === "" ? null : String(r[10]), joined: num(r[11]), early: optNum(r[12]),
    served: num(r[13]), aside: num(r[14]), admitted: num(r[15]), expired: num(r[16]), leftWaiting: num(r[17]),
    leftAdmitted: num(r[18]), available: num(r[19]), reserved: num(r[20]),
  };
  return { state, ticket: r[21] ? parseTicket(String(r[21])) : null };
}

export function parseTicket(record: string): TicketRecord {
  const [join, user, joinedAt, code, expiresAt, orderId] = record.split("|");
  return { join: Number(join), user, joinedAt: Number(joinedAt), code: code as TicketRecord["code"], entryExpiresAt: optNum(expiresAt), orderId: orderId || null };
}

/** Rule 3: nothing is available, set aside for an entry or held by an unpaid order. */
export const soldOut = (s: LineState): boolean => s.available === 0 && s.aside === 0 && s.reserved === 0;

const ended = (s: LineState, now: number): boolean => s.endsAt !== null && now >= s.endsAt;

/** The ticket's place in line (1 = first), once the order is drawn; null before. */
export function placeOf(s: LineState, join: number, order: LineOrder | null): number | null {
  if (s.early === null) return null;
  if (join >= s.early) return join + 1; // late joiners, in arrival order behind the drawn ones
  if (!order) throw new Error("the line is drawn: its order (LineOrder of seed and early joiners) is needed");
  return order.place(join);
}

/** The line's order once drawn (null before): what placeOf needs. */
export function lineOrderOf(s: LineState): LineOrder | null {
  return s.early === null || s.seed === null ? null : new LineOrder(Buffer.from(s.seed, "hex"), s.early);
}

export function ticketStatus(s: LineState, t: TicketRecord, now: number): TicketStatus {
  switch (t.code) {
    case "u": return "used";
    case "x": return "expired";
    case "l": return "left";
    case "a":
      if (ended(s, now)) return "lost";
      return t.entryExpiresAt !== null && now >= t.entryExpiresAt ? "expired" : "admitted";
    default:
      if (ended(s, now)) return "lost";
      return soldOut(s) ? "sold_out" : "waiting";
  }
}

export function ticketView(
  productId: number, ticketId: string, s: LineState, t: TicketRecord, order: LineOrder | null,
  o: { now: number; admitsPerSecond: number | null; entryToken: string | null },
): TicketView {
  const status = ticketStatus(s, t, o.now);
  const inLine = status === "waiting" || status === "sold_out";
  const place = inLine ? placeOf(s, t.join, order) : null;
  const position = place === null ? null : Math.max(1, place - s.served);
  const eta = position === null || status !== "waiting" || s.paused || !o.admitsPerSecond ? null : Math.ceil(position / o.admitsPerSecond);
  const admitted = status === "admitted";
  return {
    ticket_id: ticketId, product_id: productId, user_id: t.user, status, join_number: t.join, position, eta_seconds: eta,
    joined_at: new Date(t.joinedAt).toISOString(),
    entry_token: admitted ? o.entryToken : null,
    entry_expires_at: admitted && t.entryExpiresAt !== null ? new Date(t.entryExpiresAt).toISOString() : null,
  };
}

export function lineView(productId: number, s: LineState, now: number): LineView {
  return {
    product_id: productId, access: s.mode, opens_at: new Date(s.opensAt).toISOString(), draws_at: new Date(s.drawsAt).toISOString(),
    seed_sha256: s.seedSha256, seed: s.seed, algorithm: ALGORITHM, early_joiners: s.early,
    joined: s.joined, admitted: s.admitted, waiting: ended(s, now) ? 0 : s.joined - s.admitted - s.leftWaiting,
    paused: s.paused, admit_per_second: s.admitPerSecond,
  };
}

/** A product's fields a line is made of (API.md, "Fair access"); times as Date or ISO strings. */
export interface LineFields {
  access: "open" | Access;
  max_per_order: number;
  per_user_limit: number | null;
  sale_starts_at: Date | string | null;
  sale_ends_at: Date | string | null;
  queue_opens_at: Date | string | null;
  entry_ttl_seconds: number;
  admit_per_second: number | null;
}

/** The units one entry lets its buyer order: the smaller of max_per_order and per_user_limit. */
export const perEntry = (p: Pick<LineFields, "max_per_order" | "per_user_limit">): number =>
  p.per_user_limit === null ? p.max_per_order : Math.min(p.max_per_order, p.per_user_limit);

const ms = (t: Date | string | null): number | null => (t === null ? null : new Date(t).getTime());

/**
 * The rules between a new product's access fields (API.md): a line needs sale_starts_at;
 * a queue opens at or before it, a draw strictly before it. Field -> what is wrong.
 */
export function lineFieldErrors(p: LineFields, now: number): Record<string, string> {
  const errors: Record<string, string> = {};
  if (p.access === "open") {
    if (p.queue_opens_at !== null) errors.queue_opens_at = "only a queue or a draw has a line to open";
    return errors;
  }
  const starts = ms(p.sale_starts_at);
  if (starts === null) {
    errors.sale_starts_at = `is required for access "${p.access}"`;
    return errors;
  }
  const opens = ms(p.queue_opens_at) ?? now;
  if (p.access === "queue" && opens > starts) errors.queue_opens_at = "must be at or before sale_starts_at";
  if (p.access === "draw" && opens >= starts) errors.queue_opens_at = "must be before sale_starts_at (entries close at the draw)";
  return errors;
}

/** The line a product is sold through, from its fields (null for an open product). */
export function lineSettingsOf(p: LineFields & { queue_opens_at: Date | string | null }): LineSettings | null {
  if (p.access === "open") return null;
  const endsAt = ms(p.sale_ends_at);
  return {
    mode: p.access, opensAt: ms(p.queue_opens_at)!, drawsAt: ms(p.sale_starts_at)!, endsAt, perEntry: perEntry(p),
    entryTtlMs: p.entry_ttl_seconds * 1000, admitPerSecond: p.admit_per_second,
  };
}
