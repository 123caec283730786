/**
 * The lines of the products sold through one (API.md, "Fair access"), as the inventory
 * answers about them: joins, tickets, leaves, the line, the operator's patch, and the
 * admission step its timer drives. The Lua steps and the seed's permutation are
 * ./line-engine.ts; the views, src/domain/line-view.ts; here, what ties them to a product
 * (its shard, its row), the entry tokens, and the announcements that move the ticket
 * streams (src/contracts/line.ts).
 */
import type { MikroORM } from "@mikro-orm/postgresql";
import { FlashError, notFound } from "../../src/lib/errors.ts";
import type { DeploymentKeys } from "../../src/lib/keys.ts";
import type { RedisClient, Scripts } from "../../src/lib/redis.ts";
import type { ProductView } from "../../src/contracts/product-view.ts";
import type { LineChanged, LineJoined, LineStats, TicketReading } from "../../src/contracts/line.ts";
import { LineOrder } from "../../src/domain/line-order.ts";
import { EntryTokens } from "../../src/domain/entry-token.ts";
import {
  lineOrderOf, lineSettingsOf, lineView, ticketView,
  type LineState, type LineView, type TicketRecord,
} from "../../src/domain/line-view.ts";
import { LineEngine, type StepResult } from "./line-engine.ts";
import type { RunRedis } from "./redis-failover.ts";

export interface LinesDeps {
  redis: RedisClient;
  scripts: Scripts;
  orm: MikroORM;
  keys: DeploymentKeys;
  run: RunRedis;
  entryTokenSecret: string;
  now: () => number;
  /** the product as the inventory shows it (its shard loaded first); null: no such product */
  product: (productId: number) => Promise<ProductView | null>;
  /** told when a line moved (LINE_CHANGED_EVENT) */
  onChanged?: (change: LineChanged) => void;
}

export class Lines {
  readonly #d: LinesDeps;
  readonly #engine: LineEngine;
  readonly #tokens: EntryTokens;
  /** per product: the permutation of its drawn line (built once per seed and early joiners) */
  readonly #orders = new Map<number, { seed: string; order: LineOrder }>();
  /** per product: whether it was sold out (or ended) at the last step, to tell every ticket when that flips */
  readonly #allFlag = new Map<number, boolean>();
  /** per product: joins per second lately (an exponentially weighted mean over one-second windows) */
  readonly #joinRate = new Map<number, { windowStart: number; count: number; perSecond: number }>();

  constructor(deps: LinesDeps) {
    this.#d = deps;
    this.#engine = new LineEngine(deps.scripts);
    this.#tokens = new EntryTokens(deps.entryTokenSecret);
  }

  /**
   * Gives a queue or draw product its line (once: its seed's hash is fixed from then on)
   * and lists it for the admission timer. Nothing for an open product.
   */
  async open(p: ProductView): Promise<void> {
    const settings = lineSettingsOf(p);
    if (!settings) return;
    const k = this.#d.keys.product(p.id);
    await this.#d.run(() => this.#engine.open(k, settings));
    await this.#d.run(() => this.#d.redis.sadd(this.#d.keys.lineIndex, String(p.id)));
  }

  /** The products with a line (the admission timer's round). */
  async products(): Promise<number[]> {
    return (await this.#d.run(() => this.#d.redis.smembers(this.#d.keys.lineIndex))).map(Number);
  }

  async join(productId: number, user: string): Promise<LineJoined> {
    const k = this.#d.keys.product(productId);
    const now = this.#d.now();
    let joined = await this.#d.run(() => this.#engine.join(k, user, now));
    if (joined.outcome === "no_line") {
      await this.#lineOf(productId); // opens a queue or draw product's line if it was lost; refuses the others
      joined = await this.#d.run(() => this.#engine.join(k, user, now));
    }
    if (joined.outcome === "joined") this.#countJoin(productId, now);
    switch (joined.outcome) {
      case "not_open":
        throw new FlashError("QUEUE_NOT_OPEN", `the line opens at ${new Date(joined.opensAt).toISOString()}`, { opens_at: new Date(joined.opensAt).toISOString() });
      case "closed":
        throw new FlashError("QUEUE_CLOSED", "the line takes no more buyers: the draw was made, or the sale has ended");
      case "no_line":
        throw new FlashError("QUEUE_NOT_OPEN", `product ${productId} has no line`);
      default: {
        const reading = await this.ticket(productId, joined.ticketId);
        return { created: joined.outcome === "joined", ...reading };
      }
    }
  }

  async ticket(productId: number, ticketId: string): Promise<TicketReading> {
    const read = await this.#read(productId, ticketId);
    if (!read.ticket) throw notFound("TICKET_NOT_FOUND", "no such ticket in this product's line");
    return { ticket: await this.#view(productId, ticketId, read.state, read.ticket), served: read.state.served };
  }

  async leave(productId: number, ticketId: string): Promise<TicketReading> {
    const k = this.#d.keys.product(productId);
    const left = await this.#d.run(() => this.#engine.leave(k, ticketId));
    if (!left) throw notFound("TICKET_NOT_FOUND", "no such ticket in this product's line");
    const reading = await this.ticket(productId, ticketId);
    if (left.changed) this.#d.onChanged?.({ product_id: productId, served: reading.served, changed: [ticketId], all: false });
    return reading;
  }

  async line(productId: number): Promise<LineView> {
    const { state } = await this.#read(productId, "");
    return lineView(productId, state, this.#d.now());
  }

  async stats(productId: number): Promise<LineStats> {
    const view = await this.line(productId);
    const k = this.#d.keys.product(productId);
    const [fields, open] = await this.#d.run(() => Promise.all([
      this.#d.redis.hmget(k.line, "aside", "used", "expired", "left_waiting", "left_admitted"),
      this.#d.redis.zcard(k.lineEntries),
    ]));
    const [aside, used, expired, leftWaiting, leftAdmitted] = fields.map((v) => Number(v ?? 0));
    return {
      ...view, open_entries: open, aside, used, expired, left: leftWaiting + leftAdmitted,
      admitted_per_second: this.#engine.admitsPerSecond(productId), joins_per_second: this.joinsPerSecond(productId),
    };
  }

  /** Joins per second at the product's line lately (what the join challenge's difficulty follows). */
  joinsPerSecond(productId: number): number {
    const r = this.#joinRate.get(productId);
    if (!r) return 0;
    // windows with no join since the last one pull the mean down
    const idle = Math.floor((this.#d.now() - r.windowStart) / 1000);
    return idle <= 0 ? r.perSecond : r.perSecond * 0.5 ** idle;
  }

  #countJoin(productId: number, now: number): void {
    const r = this.#joinRate.get(productId) ?? { windowStart: now, count: 0, perSecond: 0 };
    const windows = Math.floor((now - r.windowStart) / 1000);
    if (windows > 0) {
      // the closed window's count, then empty windows, each weighing half of what came before
      r.perSecond = (0.5 * r.perSecond + 0.5 * r.count) * 0.5 ** (windows - 1);
      r.windowStart += windows * 1000;
      r.count = 0;
    }
    r.count++;
    // a burst inside the current window counts at once: the difficulty must rise during it
    r.perSecond = Math.max(r.perSecond, r.count);
    this.#joinRate.set(productId, r);
  }

  /** The operator's controls: the pace of entries and the pause; kept in the product's row too. */
  async patch(productId: number, change: { admit_per_second?: number | null; paused?: boolean }): Promise<LineView> {
    await this.#read(productId, ""); // the line exists (or a refusal)
    const k = this.#d.keys.product(productId);
    const fields: Array<string | number> = [];
    if (change.admit_per_second !== undefined) fields.push("rate", change.admit_per_second ?? 0);
    if (change.paused !== undefined) fields.push("paused", change.paused ? 1 : 0);
    if (fields.length > 0) await this.#d.run(() => this.#d.redis.hset(k.line, ...fields));
    if (change.admit_per_second !== undefined) {
      await this.#d.orm.em.fork().execute(`update products set admit_per_second = ?, updated_at = now() where id = ?`, [change.admit_per_second, productId]);
    }
    const { state } = await this.#read(productId, "");
    // paused or its pace changed: every ticket's estimate changes
    this.#d.onChanged?.({ product_id: productId, served: state.served, changed: [], all: true });
    return lineView(productId, state, this.#d.now());
  }

  /**
   * One admission step of the product's line (expired entries back, the draw when due,
   * then places as units and the pace allow), announced when it changed anything a
   * ticket shows. null: the product has no line.
   */
  async step(productId: number): Promise<StepResult | null> {
    const k = this.#d.keys.product(productId);
    const result = await this.#d.run(() => this.#engine.step(productId, k, this.#d.now()));
    if (!result) return null;
    // every waiting ticket's status flips when the line is sold out (rule 3) or the sale ends (lost)
    const all = (result.available === 0 && result.aside === 0 && result.reserved === 0) ||
      (result.endsAt !== null && this.#d.now() >= result.endsAt);
    const flipped = this.#allFlag.get(productId) !== all;
    this.#allFlag.set(productId, all);
    if (result.admitted.length > 0 || result.expired > 0 || flipped) {
      this.#d.onChanged?.({
        product_id: productId, served: result.served, changed: result.admitted.map((a) => a.ticketId),
        // an expired entry's ticket is not named by the step: every stream reads its ticket again
        all: flipped || result.expired > 0,
      });
    }
    return result;
  }

  /** The line's state, and a ticket's record ("" = none); the line opened if the product should have one. */
  async #read(productId: number, ticketId: string): Promise<{ state: LineState; ticket: TicketRecord | null }> {
    const k = this.#d.keys.product(productId);
    const read = await this.#d.run(() => this.#engine.read(k, ticketId));
    if (read) return read;
    await this.#lineOf(productId);
    const again = await this.#d.run(() => this.#engine.read(k, ticketId));
    if (!again) throw new FlashError("QUEUE_NOT_OPEN", `product ${productId} has no line`);
    return again;
  }

  /** A product whose line is missing: opened if it is sold through one, else the refusal. */
  async #lineOf(productId: number): Promise<void> {
    const p = await this.#d.product(productId);
    if (!p) throw notFound("PRODUCT_NOT_FOUND", `product ${productId} does not exist`);
    if (p.access === "open") throw new FlashError("QUEUE_NOT_OPEN", `product ${productId} is sold open: it has no line`);
    await this.open(p);
  }

  async #view(productId: number, ticketId: string, s: LineState, t: TicketRecord) {
    const now = this.#d.now();
    const order = this.#order(productId, s);
    const admitted = t.code === "a" && t.entryExpiresAt !== null && now < t.entryExpiresAt && (s.endsAt === null || now < s.endsAt);
    const entryToken = admitted
      ? await this.#tokens.sign({ productId, buyer: t.user, ticketId, expiresAt: Math.floor(t.entryExpiresAt! / 1000) })
      : null;
    return ticketView(productId, ticketId, s, t, order, { now, admitsPerSecond: this.#engine.admitsPerSecond(productId), entryToken });
  }

  #order(productId: number, s: LineState): LineOrder | null {
    if (s.early === null || s.seed === null) return null;
    const cached = this.#orders.get(productId);
    if (cached && cached.order.size === s.early && cached.seed === s.seed) return cached.order;
    const order = lineOrderOf(s)!;
    this.#orders.set(productId, { seed: s.seed, order });
    return order;
  }
}
