/**
 * Live updates over Server-Sent Events (API.md "Live updates"): one stream per client,
 * `GET /api/orders/{id}/events` (event `order`) and `GET /api/products/{id}/events`
 * (event `product`), fed by Moleculer events broadcast to every gateway node.
 *
 * Events only say *which* order or product changed; the gateway then reads it the way
 * GET does (`orders.get`, `inventory.product`), once per changed key for all of its
 * watchers, and sends it to the streams that have not seen that state yet. So a stream
 * always carries exactly what GET would answer, whichever node made the change, and a
 * lost event costs a delay, never a wrong state: products are re-read at every
 * heartbeat, and an unpaid order again once past its expiry.
 *
 * The streams of a line's tickets (event `ticket`) are followed by ./ticket-updates.ts,
 * which moves their positions without a read; they share the bounds below.
 *
 * Reads of one key are coalesced (Coalescer): at most one per PRODUCT_UPDATE_INTERVAL_MS,
 * the last change always read. Bounded per gateway: SSE_MAX_STREAMS streams (then 503),
 * SSE_MAX_BUFFERED_BYTES per stream (what a stream may owe its client, kernels included:
 * ./sse-stream.ts); a stream is forgotten the moment its client goes away.
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { UnavailableError } from "../../src/lib/errors.ts";
import { Coalescer } from "../../src/lib/coalescer.ts";
import { productIdOfOrder } from "../../src/domain/order-id.ts";
import { FINAL_STATUSES } from "../../src/domain/payment.ts";
import type { OrderStatus, OrderView } from "../../src/contracts/order-view.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import { ORDERS_CHANGED_EVENT, ORDERS_PERSISTED_EVENT, STOCK_RETURNED_EVENT, STOCK_TAKEN_EVENT } from "../../src/contracts/events.ts";
import { LINE_CHANGED_EVENT, type LineChanged, type LineView, type TicketReading, type TicketView } from "../../src/contracts/line.ts";
import { SseStream, watchFrom, type Watchers } from "./sse-stream.ts";
import { TicketUpdates } from "./ticket-updates.ts";

/** setTimeout's limit (about 24.8 days): a later sale boundary is re-scheduled when reached */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type StreamKind = "order" | "product" | "ticket";

export interface LiveUpdatesOptions {
  maxStreams: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  productIntervalMs: number;
  fetchOrder: (id: string) => Promise<OrderView>;
  fetchProduct: (id: number) => Promise<ProductView>;
  fetchTicket: (productId: number, ticketId: string) => Promise<TicketReading>;
  fetchLine: (productId: number) => Promise<LineView>;
  /** the number of open streams of a kind changed */
  onCount?: (kind: StreamKind, count: number) => void;
  /** a slow client was dropped */
  onDrop?: (kind: StreamKind) => void;
  logger: { warn: (...args: unknown[]) => void };
  now?: () => number;
}

const STREAM_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  // nginx and the like: pass each event on at once
  "X-Accel-Buffering": "no",
};

interface TopicSpec<K, V> {
  kind: StreamKind;
  fetch: (key: K) => Promise<V>;
  /** what identifies a state: a stream is sent a state only when this differs from its last */
  changeKey: (value: V) => string;
  /** the stream ends after sending such a state */
  isFinal: (value: V) => boolean;
  /** when this state may change without an event (a sale boundary, an expiry), or null */
  recheckAt: (value: V) => number | null;
}

interface Watch<V> extends Watchers {
  /** reads started / the newest one applied: an older read finishing late is not sent */
  started: number;
  applied: number;
  latest?: V;
  latestKey?: string;
  recheck?: NodeJS.Timeout;
}

/** The streams following one kind of thing (orders or products), keyed by its id. */
class Topic<K, V> {
  readonly #spec: TopicSpec<K, V>;
  readonly #watches = new Map<K, Watch<V>>();
  readonly #reads: Coalescer<K>;
  readonly #now: () => number;
  readonly #logger: LiveUpdatesOptions["logger"];

  constructor(spec: TopicSpec<K, V>, intervalMs: number, now: () => number, logger: LiveUpdatesOptions["logger"]) {
    this.#spec = spec;
    this.#now = now;
    this.#logger = logger;
    this.#reads = new Coalescer(intervalMs, (key) =>
      this.#watches.has(key)
        ? this.#read(key).catch((err: Error) => this.#logger.warn(`live ${spec.kind} ${String(key)}: ${err.message}`))
        : undefined,
    );
  }

  get keys(): IterableIterator<K> {
    return this.#watches.keys();
  }

  /** Follows `key` on `stream`; resolves with the first state (already sent), or rejects (404/422/503). */
  async follow(key: K, stream: SseStream, admit?: (value: V) => void): Promise<void> {
    let watch = this.#watches.get(key);
    if (!watch) {
      watch = { streams: new Set(), opening: new Set(), started: 0, applied: 0 };
      this.#watches.set(key, watch);
    }
    const w = watch;
    return watchFrom(w, stream, {
      read: () => this.#read(key), admit, unwatch: () => this.#unwatch(key, stream), deliver: () => this.#deliver(key, w, stream),
    });
  }

  /** `key` may have changed: re-read it (coalesced) if anyone follows it. */
  touch(key: K): void {
    if (this.#watches.has(key)) this.#reads.touch(key);
  }

  async #read(key: K): Promise<V> {
    const watch = this.#watches.get(key)!;
    const seq = ++watch.started;
    const value = await this.#spec.fetch(key);
    if (seq > watch.applied) {
      watch.applied = seq;
      watch.latest = value;
      watch.latestKey = this.#spec.changeKey(value);
      this.#schedule(key, watch, value);
      for (const s of watch.streams) this.#deliver(key, watch, s);
    }
    return watch.latest!;
  }

  #deliver(key: K, watch: Watch<V>, stream: SseStream): void {
    if (watch.latest === undefined || stream.lastKey === watch.latestKey) return;
    stream.send(this.#spec.kind, watch.latest, watch.latestKey);
    if (this.#spec.isFinal(watch.latest)) {
      stream.end();
      this.#unwatch(key, stream);
    }
  }

  #schedule(key: K, watch: Watch<V>, value: V): void {
    if (watch.recheck) clearTimeout(watch.recheck);
    watch.recheck = undefined;
    const at = this.#spec.recheckAt(value);
    if (at === null) return;
    watch.recheck = setTimeout(() => this.touch(key), Math.min(MAX_TIMER_MS, Math.max(0, at - this.#now())));
    watch.recheck.unref();
  }

  #unwatch(key: K, stream: SseStream): void {
    const watch = this.#watches.get(key);
    if (!watch) return;
    watch.opening.delete(stream);
    watch.streams.delete(stream);
    if (watch.streams.size > 0 || watch.opening.size > 0) return;
    if (watch.recheck) clearTimeout(watch.recheck);
    this.#watches.delete(key);
  }
}

/** Where a product's sale stands at `now`: part of its change key, so a boundary is an event. */
function salePhase(p: ProductView, now: number): "upcoming" | "active" | "ended" {
  if (p.sale_starts_at && now < Date.parse(p.sale_starts_at)) return "upcoming";
  if (p.sale_ends_at && now >= Date.parse(p.sale_ends_at)) return "ended";
  return "active";
}

export class LiveUpdates {
  readonly orders: Topic<string, OrderView>;
  readonly products: Topic<number, ProductView>;
  readonly tickets: TicketUpdates;
  readonly #o: LiveUpdatesOptions;
  readonly #streams = new Map<SseStream, StreamKind>();
  readonly #bodies = new WeakMap<Readable, SseStream>();
  readonly #count: Record<StreamKind, number> = { order: 0, product: 0, ticket: 0 };
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: LiveUpdatesOptions) {
    this.#o = options;
    const now = options.now ?? Date.now;
    this.orders = new Topic<string, OrderView>({
      kind: "order",
      fetch: options.fetchOrder,
      changeKey: (o) => o.status,
      isFinal: (o) => FINAL_STATUSES.has(o.status as OrderStatus),
      // an unpaid order must change by its expiry: read again then (and each heartbeat after)
      recheckAt: (o) => (FINAL_STATUSES.has(o.status as OrderStatus) ? null : Math.max(Date.parse(o.expires_at), now()) + options.heartbeatMs),
    }, options.productIntervalMs, now, options.logger);
    this.products = new Topic<number, ProductView>({
      kind: "product",
      fetch: options.fetchProduct,
      changeKey: (p) => `${salePhase(p, now())}:${p.stock_total}:${p.stock_available}`,
      isFinal: () => false,
      recheckAt: (p) => {
        const t = now();
        const next = [p.sale_starts_at, p.sale_ends_at].map((d) => (d ? Date.parse(d) : NaN)).filter((d) => d > t);
        return next.length ? Math.min(...next) : null;
      },
    }, options.productIntervalMs, now, options.logger);
    this.tickets = new TicketUpdates({ fetchTicket: options.fetchTicket, fetchLine: options.fetchLine, logger: options.logger, now });
  }

  /** Starts the heartbeat: a comment line on every stream, a fresh read of every followed product (and of one ticket per line). */
  start(): void {
    this.#heartbeat ??= setInterval(() => this.#beat(), this.#o.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Moleculer event handlers of the gateway: what changed, from any node. */
  get events(): Record<string, (ctx: { params: Record<string, unknown> }) => void> {
    const orders = (withProducts: boolean) => (ctx: { params: Record<string, unknown> }) => {
      const ids = ctx.params.order_ids;
      if (!Array.isArray(ids)) return;
      for (const id of ids) {
        if (typeof id !== "string") continue;
        this.orders.touch(id);
        const productId = withProducts ? productIdOfOrder(id) : null;
        if (productId !== null) this.products.touch(productId);
      }
    };
    const product = (ctx: { params: Record<string, unknown> }) => {
      if (typeof ctx.params.product_id === "number") this.products.touch(ctx.params.product_id);
    };
    return {
      [ORDERS_PERSISTED_EVENT]: orders(false),
      // a final status may have returned units (also where no stock event is sent: pg-lock mode)
      [ORDERS_CHANGED_EVENT]: orders(true),
      [STOCK_TAKEN_EVENT]: product,
      [STOCK_RETURNED_EVENT]: product,
      [LINE_CHANGED_EVENT]: (ctx) => {
        if (typeof ctx.params.product_id !== "number") return;
        this.tickets.changed(ctx.params as unknown as LineChanged);
        // an admission sets units aside (out of stock_available), an expired entry gives them back
        this.products.touch(ctx.params.product_id);
      },
    };
  }

  /**
   * The stream of one order, after its first state was read (so 404/422 are answered
   * as by GET). `admit` sees that state first and may throw to refuse the stream.
   */
  openOrder(id: string, admit?: (order: OrderView) => void): Promise<Readable> {
    return this.#open("order", (s) => this.orders.follow(id.toLowerCase(), s, admit));
  }

  openProduct(id: number): Promise<Readable> {
    return this.#open("product", (s) => this.products.follow(id, s));
  }

  /** The stream of a line's ticket, after its first state was read; `admit` may refuse it (another buyer's ticket). */
  openTicket(productId: number, ticketId: string, admit?: (ticket: TicketView) => void): Promise<Readable> {
    return this.#open("ticket", (s) => this.tickets.follow(productId, ticketId, s, admit));
  }

  /** True for the body of a stream opened here (the gateway answers it with `send`). */
  owns(body: unknown): body is Readable {
    return this.#bodies.has(body as Readable);
  }

  /**
   * Answers with an opened stream: headers at once, then every event as it is written.
   * A client going away is the normal end of a stream, not an error: it is forgotten.
   */
  send(res: ServerResponse, body: Readable): void {
    this.#bodies.get(body)!.answer(res, STREAM_HEADERS);
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Ends every stream (the gateway is stopping: clients reconnect to another node). */
  stop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const s of [...this.#streams.keys()]) s.end();
  }

  async #open(kind: StreamKind, follow: (s: SseStream) => Promise<void>): Promise<Readable> {
    if (this.#streams.size >= this.#o.maxStreams) {
      throw new UnavailableError("this gateway holds as many live streams as it may; retry shortly", "gateway", 5);
    }
    const stream = new SseStream(this.#o.maxBufferedBytes, () => this.#o.onDrop?.(kind));
    this.#streams.set(stream, kind);
    this.#counted(kind, +1);
    stream.onClose(() => {
      if (this.#streams.delete(stream)) this.#counted(kind, -1);
    });
    try {
      await follow(stream);
    } catch (err) {
      stream.body.destroy();
      throw err;
    }
    this.#bodies.set(stream.body, stream);
    return stream.body;
  }

  #counted(kind: StreamKind, delta: number): void {
    this.#count[kind] += delta;
    this.#o.onCount?.(kind, this.#count[kind]);
  }

  #beat(): void {
    for (const s of this.#streams.keys()) s.comment();
    for (const id of this.products.keys) this.products.touch(id);
    this.tickets.beat();
  }
}
