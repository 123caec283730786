/**
 * A product's line (API.md, "Fair access"; DESIGN.md, "the line is an actor too"), on
 * the inventory side: the Lua steps of ./lua/line*.lua, with what they need from
 * outside Redis: random ticket ids and seeds, the seed's permutation (which place holds
 * which join number), and the pace of admissions.
 *
 * The admission step (`step`) is driven by the node that owns the product (the Shard
 * strategy), on a timer and whenever units come back; `admit_per_second` bounds how
 * many places one step may ask for. When that node dies, the next owner goes on from
 * Redis: nothing here is state the line needs, only the pace measured for estimates.
 */
import { createHash, randomBytes } from "node:crypto";
import type { ProductKeys } from "../../src/lib/keys.ts";
import type { Scripts } from "../../src/lib/redis.ts";
import { lineOrderOf, parseLineReading, parseTicket, type LineSettings, type LineState, type TicketRecord } from "../../src/domain/line-view.ts";

export type { LineSettings };
import { ScriptCode, replyCode } from "./script-codes.ts";

export type JoinResult =
  | { outcome: "joined" | "held"; ticketId: string; join: number }
  | { outcome: "not_open"; opensAt: number }
  | { outcome: "closed" }
  | { outcome: "no_line" };

export interface Admission {
  ticketId: string;
  place: number;
  entryExpiresAt: number;
}

export interface StepResult {
  /** the sale's end (ms; null: none), as the step read the line */
  endsAt: number | null;
  served: number;
  available: number;
  aside: number;
  reserved: number;
  expired: number;
  admitted: Admission[];
}

/** places one step asks for at most, whatever the rate: a step is one Lua call */
export const MAX_PLACES_PER_STEP = 500;
/** a new ticket id: 128 random bits, URL-safe */
export const newTicketId = (): string => randomBytes(16).toString("base64url");

interface Pace {
  lastStepAt: number;
  perSecond: number | null;
  credit: number;
  /** until when the credit was earned */
  creditAt: number;
}

export class LineEngine {
  readonly #scripts: Scripts;
  /**
   * per product: when the last step ran, the measured admissions per second, and the
   * places the rate has allowed and no step has used yet (admit_per_second × time, less
   * what was admitted; at most two seconds' worth, so an idle line does not bank a burst)
   */
  readonly #pace = new Map<number, Pace>();

  constructor(scripts: Scripts) {
    this.#scripts = scripts;
  }

  /** Gives the product its line, once: the seed is drawn here and only its hash is public until the draw. */
  async open(k: ProductKeys, s: LineSettings): Promise<{ seedSha256: string; opened: boolean }> {
    const seed = randomBytes(32);
    const reply = await this.#scripts.lineOpen([k.line], [
      s.mode, s.opensAt, s.drawsAt, s.endsAt ?? "", s.perEntry, s.entryTtlMs, s.admitPerSecond ?? 0,
      seed.toString("hex"), createHash("sha256").update(seed).digest("hex"),
    ]);
    return { seedSha256: String(reply[1]), opened: replyCode(reply) === ScriptCode.lineOpen.OPENED };
  }

  async join(k: ProductKeys, user: string, now: number): Promise<JoinResult> {
    const reply = await this.#scripts.lineJoin([k.line, k.lineTickets, k.lineJoins, k.lineUsers], [newTicketId(), user, now]);
    switch (replyCode(reply)) {
      case ScriptCode.lineJoin.JOINED: return { outcome: "joined", ticketId: String(reply[1]), join: Number(reply[2]) };
      case ScriptCode.lineJoin.HELD: return { outcome: "held", ticketId: String(reply[1]), join: Number(reply[2]) };
      case ScriptCode.lineJoin.NOT_OPEN: return { outcome: "not_open", opensAt: Number(reply[1]) };
      case ScriptCode.lineJoin.CLOSED: return { outcome: "closed" };
      default: return { outcome: "no_line" };
    }
  }

  /** The line and, with `ticketId`, that ticket's record (null: no such ticket); null: no line. */
  async read(k: ProductKeys, ticketId = ""): Promise<{ state: LineState; ticket: TicketRecord | null } | null> {
    const reply = await this.#scripts.lineRead([k.line, k.lineTickets, k.stock, k.meta], [ticketId]);
    return replyCode(reply) === ScriptCode.lineRead.READ ? parseLineReading(reply) : null;
  }

  /** null: no such ticket; else the ticket's record now and whether this call changed it. */
  async leave(k: ProductKeys, ticketId: string): Promise<{ ticket: TicketRecord; changed: boolean } | null> {
    const reply = await this.#scripts.lineLeave([k.line, k.lineTickets, k.lineUsers, k.lineEntries, k.stock], [ticketId]);
    if (replyCode(reply) === ScriptCode.lineLeave.NO_TICKET) return null;
    return { ticket: parseTicket(String(reply[1])), changed: replyCode(reply) === ScriptCode.lineLeave.LEFT };
  }

  /**
   * One admission step at `now`: expired entries back to the line, the draw if due, then
   * as many places as the rate allows since the last step (all that units allow when the
   * line has no rate). null: no line.
   */
  async step(productId: number, k: ProductKeys, now: number): Promise<StepResult | null> {
    // the first step may admit one place at once; the rate earns the rest
    const pace = this.#pace.get(productId) ?? { lastStepAt: now, perSecond: null, credit: 1, creditAt: now };
    for (let attempt = 0; attempt < 3; attempt++) {
      const read = await this.read(k);
      if (!read) return null;
      const { state } = read;
      const joins = joinsOfNextPlaces(state, this.#budget(state, pace, now));
      const reply = await this.#scripts.lineAdmit(
        [k.line, k.lineTickets, k.lineJoins, k.lineEntries, k.stock, k.meta], [now, state.served + 1, ...joins],
      );
      const code = replyCode(reply);
      if (code === ScriptCode.lineAdmit.NO_LINE) return null;
      if (code === ScriptCode.lineAdmit.STALE) continue; // drawn in this step, or another node stepped: read again
      const result = { ...stepResult(reply), endsAt: state.endsAt };
      this.#measure(productId, pace, now, result.admitted.length);
      return result;
    }
    throw new Error(`line of product ${productId}: the step kept finding the line moved under it`);
  }

  /** Admissions per second lately (an exponentially weighted mean), for estimates; null before any. */
  admitsPerSecond(productId: number): number | null {
    return this.#pace.get(productId)?.perSecond ?? null;
  }

  /** Places this step may ask for: all (up to a step's maximum) without a rate, else the credit the rate earned. */
  #budget(state: LineState, pace: Pace, now: number): number {
    const earnedMs = Math.max(0, now - pace.creditAt);
    pace.creditAt = Math.max(pace.creditAt, now);
    if (state.admitPerSecond === null) return MAX_PLACES_PER_STEP;
    pace.credit = Math.min(2 * state.admitPerSecond, pace.credit + (state.admitPerSecond * earnedMs) / 1000);
    return Math.min(MAX_PLACES_PER_STEP, Math.floor(pace.credit));
  }

  #measure(productId: number, pace: Pace, now: number, admitted: number): void {
    pace.credit = Math.max(0, pace.credit - admitted);
    const seconds = (now - pace.lastStepAt) / 1000;
    if (seconds > 0) {
      const rate = admitted / seconds;
      pace.perSecond = pace.perSecond === null ? rate : 0.8 * pace.perSecond + 0.2 * rate;
    }
    pace.lastStepAt = now;
    this.#pace.set(productId, pace);
  }
}

/**
 * The join numbers at the next `budget` places after those served (fewer when fewer
 * joined), in place order: what lineAdmit-6.lua asks for. Empty before the draw.
 */
export function joinsOfNextPlaces(state: LineState, budget: number): number[] {
  const order = lineOrderOf(state);
  const joins: number[] = [];
  const last = Math.min(state.joined, state.served + budget);
  for (let place = state.served + 1; order !== null && place <= last; place++) {
    joins.push(place <= state.early! ? order.joinAt(place) : place - 1);
  }
  return joins;
}

function stepResult(reply: ArrayLike<unknown>): Omit<StepResult, "endsAt"> {
  const r = Array.from(reply, (v) => (typeof v === "number" ? v : String(v)));
  const admitted: Admission[] = [];
  for (let i = 7; i + 2 < r.length; i += 3) admitted.push({ ticketId: String(r[i]), place: Number(r[i + 1]), entryExpiresAt: Number(r[i + 2]) });
  return { served: Number(r[1]), available: Number(r[2]), aside: Number(r[3]), reserved: Number(r[4]), expired: Number(r[5]), admitted };
}
