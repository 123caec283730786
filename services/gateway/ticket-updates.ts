/**
 * The live streams of a line's tickets (API.md, "Fair access":
 * `GET /api/products/{id}/queue/{ticket_id}/events`, event `ticket`), fed by the
 * inventory's LINE_CHANGED_EVENT (src/contracts/line.ts). Opened, counted and bounded with
 * the other streams by ./live-updates.ts.
 *
 * An idle stream costs nothing per admission, whatever the line's length: a waiting
 * ticket's place does not change, so its position is `place − served`, computed here from
 * the `served` each event carries, without a call; a position alone is pushed at most once
 * a second per ticket (Coalescer). Only the tickets an event names (every one, when `all`)
 * are read again (inventory.lineTicket) and pushed at once. A ticket that joined before the
 * draw has no place until then: at the first event after it, one read of the line (its
 * published seed and early joiners) places every such ticket here (LineOrder), again
 * without a read per ticket. An admitted ticket is read again when its entry expires, and
 * at every heartbeat one ticket of each line is, so a lost event costs a delay, never a
 * wrong state for good.
 */
import type { LineChanged, LineView, TicketReading, TicketView } from "../../src/contracts/line.ts";
import { LineOrder } from "../../src/domain/line-order.ts";
import { Coalescer } from "../../src/lib/coalescer.ts";
import { mapLimit } from "../../src/lib/concurrency.ts";
import { watchFrom, type SseStream, type Watchers } from "./sse-stream.ts";

/** a ticket's position is pushed at most this often (API.md) */
const POSITION_INTERVAL_MS = 1000;
/** reads in flight when an event says every ticket of a line changed */
const READS_IN_FLIGHT = 32;
/** an entry's expiry is read back this long after it (clocks of two nodes differ a little) */
const EXPIRY_MARGIN_MS = 1000;
const FINAL_STATUSES = new Set<TicketView["status"]>(["used", "expired", "lost", "left"]);

const inLine = (t: TicketView): boolean => t.status === "waiting" || t.status === "sold_out";

export interface TicketFeed {
  fetchTicket(productId: number, ticketId: string): Promise<TicketReading>;
  fetchLine(productId: number): Promise<LineView>;
  logger: { warn: (...args: unknown[]) => void };
  now?: () => number;
}

interface Watch extends Watchers {
  productId: number;
  ticketId: string;
  /** reads started / the newest one applied: an older read finishing late is not applied */
  started: number;
  applied: number;
  /** the newest state, what the streams are sent, and its change key */
  view?: TicketView;
  key?: string;
  /** its place in line (1 = first) while it is in line and placed: position = place − served */
  place: number | null;
  /** places per second its last ETA was made with (position ÷ eta_seconds): the ETA moves with the position */
  pace: number | null;
  recheck?: NodeJS.Timeout;
}

interface Line {
  /** places the line has passed: the most any event or reading said */
  served: number;
  watches: Map<string, Watch>;
}

export class TicketUpdates {
  readonly #feed: TicketFeed;
  readonly #now: () => number;
  readonly #lines = new Map<number, Line>();
  readonly #positions: Coalescer<Watch>;
  readonly #placing: Coalescer<number>;

  constructor(feed: TicketFeed) {
    this.#feed = feed;
    this.#now = feed.now ?? Date.now;
    this.#positions = new Coalescer(POSITION_INTERVAL_MS, (w) => this.#deliverAll(w));
    this.#placing = new Coalescer(POSITION_INTERVAL_MS, (productId) =>
      this.#place(productId).catch((err: Error) => this.#warn(`line ${productId}`, err)),
    );
  }

  /** Follows a ticket on `stream`; resolves once its first state is sent, or rejects (404/422/503, or `admit`'s refusal). */
  async follow(productId: number, ticketId: string, stream: SseStream, admit?: (ticket: TicketView) => void): Promise<void> {
    let line = this.#lines.get(productId);
    if (!line) this.#lines.set(productId, (line = { served: 0, watches: new Map() }));
    let w = line.watches.get(ticketId);
    if (!w) line.watches.set(ticketId, (w = { productId, ticketId, streams: new Set(), opening: new Set(), started: 0, applied: 0, place: null, pace: null }));
    const watch = w;
    return watchFrom(watch, stream, {
      read: () => this.#read(watch), admit, unwatch: () => this.#unwatch(watch, stream), deliver: () => this.#deliver(watch, stream),
    });
  }

  /** LINE_CHANGED_EVENT: positions move by `served`; the tickets named (or all) are read again. */
  changed(e: LineChanged): void {
    const line = this.#lines.get(e.product_id);
    if (!line) return;
    const reread = e.all ? [...line.watches.values()] : e.changed.flatMap((id) => line.watches.get(id) ?? []);
    // every ticket read again: none is moved first (each would be pushed twice)
    if (e.all) line.served = Math.max(line.served, e.served);
    else this.#advance(line, e.served);
    for (const w of line.watches.values()) {
      if (w.place === null && w.view !== undefined && inLine(w.view) && !e.all) {
        this.#placing.touch(e.product_id);
        break;
      }
    }
    if (reread.length > 0) void mapLimit(reread, READS_IN_FLIGHT, (w) => this.#read(w).catch((err: Error) => this.#warn(`ticket of line ${e.product_id}`, err)));
  }

  /** The heartbeat: one ticket of each line is read again (round robin), which also catches up its `served`. */
  beat(): void {
    for (const [productId, line] of this.#lines) {
      const first = line.watches.values().next().value;
      if (first === undefined || first.view === undefined) continue;
      line.watches.delete(first.ticketId);
      line.watches.set(first.ticketId, first);
      void this.#read(first).catch((err: Error) => this.#warn(`ticket of line ${productId}`, err));
    }
  }

  /** Tickets followed (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const line of this.#lines.values()) n += line.watches.size;
    return n;
  }

  async #read(w: Watch): Promise<TicketView> {
    const seq = ++w.started;
    const { ticket, served } = await this.#feed.fetchTicket(w.productId, w.ticketId);
    const line = this.#lines.get(w.productId);
    if (seq > w.applied && line !== undefined && line.watches.get(w.ticketId) === w) {
      w.applied = seq;
      w.place = inLine(ticket) && ticket.position !== null ? ticket.position + served : null;
      w.pace = ticket.position !== null && ticket.eta_seconds ? ticket.position / ticket.eta_seconds : null;
      this.#advance(line, served);
      // an event may have told of more places passed than this reading knew
      this.#set(w, w.place === null ? ticket : this.#positioned(w, ticket, line.served));
      this.#deliverAll(w);
    }
    return w.view ?? ticket;
  }

  /** The line passed `served` places: every placed ticket's position follows (pushed at most once a second). */
  #advance(line: Line, served: number): void {
    if (served <= line.served) return;
    line.served = served;
    for (const w of line.watches.values()) this.#move(w, served);
  }

  #move(w: Watch, served: number): void {
    if (w.place === null || w.view === undefined) return;
    const moved = this.#positioned(w, w.view, served);
    if (moved === w.view) return;
    this.#set(w, moved);
    this.#positions.touch(w);
  }

  /** `view` with the position its place has when `served` places are passed (the same object when that is its position). */
  #positioned(w: Watch, view: TicketView, served: number): TicketView {
    const position = Math.max(1, w.place! - served);
    if (position === view.position) return view;
    return { ...view, position, eta_seconds: w.pace === null ? null : Math.ceil(position / w.pace) };
  }

  /** Places the line's unplaced tickets once its order is drawn: one read of the line, its published seed. */
  async #place(productId: number): Promise<void> {
    if (!this.#lines.has(productId)) return;
    const view = await this.#feed.fetchLine(productId);
    const line = this.#lines.get(productId);
    if (!line || view.seed === null || view.early_joiners === null) return;
    const early = view.early_joiners;
    const order = new LineOrder(Buffer.from(view.seed, "hex"), early);
    for (const w of line.watches.values()) {
      // a ticket being read again (an event named it: admitted at the draw) is placed by its reading
      if (w.place !== null || w.view === undefined || !inLine(w.view) || w.started > w.applied) continue;
      const join = w.view.join_number;
      w.place = join >= early ? join + 1 : order.place(join);
      this.#move(w, line.served);
    }
  }

  #set(w: Watch, view: TicketView): void {
    w.view = view;
    w.key = `${view.status}|${view.position}|${view.eta_seconds}|${view.entry_expires_at}`;
    if (w.recheck) clearTimeout(w.recheck);
    w.recheck = undefined;
    // an entry that lapses is read back then: its ticket turns `expired` without an event of its own
    if (view.status === "admitted" && view.entry_expires_at !== null) {
      w.recheck = setTimeout(() => void this.#read(w).catch((err: Error) => this.#warn(`ticket of line ${w.productId}`, err)),
        Math.max(0, Date.parse(view.entry_expires_at) - this.#now()) + EXPIRY_MARGIN_MS);
      w.recheck.unref();
    }
  }

  #deliverAll(w: Watch): void {
    for (const s of w.streams) this.#deliver(w, s);
  }

  #deliver(w: Watch, stream: SseStream): void {
    if (w.view === undefined || stream.lastKey === w.key) return;
    stream.send("ticket", w.view, w.key);
    if (FINAL_STATUSES.has(w.view.status)) {
      stream.end();
      this.#unwatch(w, stream);
    }
  }

  #unwatch(w: Watch, stream: SseStream): void {
    w.opening.delete(stream);
    w.streams.delete(stream);
    if (w.streams.size > 0 || w.opening.size > 0) return;
    if (w.recheck) clearTimeout(w.recheck);
    const line = this.#lines.get(w.productId);
    if (line?.watches.get(w.ticketId) !== w) return;
    line.watches.delete(w.ticketId);
    if (line.watches.size === 0) this.#lines.delete(w.productId);
  }

  #warn(what: string, err: Error): void {
    this.#feed.logger.warn(`live ${what}: ${err.message}`);
  }
}
