/**
 * The events the services broadcast (src/contracts/events.ts), as a test hears them: a
 * test awaits the event that announces a change instead of polling for the change.
 */
import { LINE_CHANGED_EVENT } from "../../src/contracts/line.ts";
import type { ServiceBroker } from "moleculer";
import { ORDERS_CHANGED_EVENT, ORDERS_PERSISTED_EVENT, SOLD_OUT_EVENT, STOCK_RETURNED_EVENT, type OrdersEvent } from "../../src/contracts/events.ts";

/** Every event a log records. */
export const HEARD_EVENTS = [ORDERS_PERSISTED_EVENT, ORDERS_CHANGED_EVENT, SOLD_OUT_EVENT, STOCK_RETURNED_EVENT, LINE_CHANGED_EVENT] as const;

interface Waiter {
  event: string;
  match: (payload: never) => boolean;
  resolve: (payload: unknown) => void;
}

export interface HeardOptions {
  /** a mark: only what was heard after it counts */
  since?: number;
  timeoutMs?: number;
  /** what the timeout's error says was awaited */
  what?: string;
}

/** What one node heard, in order, from the moment its log was made. */
export class EventLog {
  private readonly heardSoFar: Array<{ event: string; payload: unknown; at: number }> = [];
  private waiters: Waiter[] = [];

  record(event: string, payload: unknown): void {
    this.heardSoFar.push({ event, payload, at: Date.now() });
    const [met, waiting] = partition(this.waiters, (w) => w.event === event && w.match(payload as never));
    this.waiters = waiting;
    for (const w of met) w.resolve(payload);
  }

  /** A place in the log: `heard(…, { since })` then takes only what was heard after it. */
  mark(): number {
    return this.heardSoFar.length;
  }

  /** When each `event` heard so far (after `since`) was heard (ms), with its payload. */
  timed<T>(event: string, since = 0): Array<{ payload: T; at: number }> {
    return this.heardSoFar.slice(since).filter((h) => h.event === event).map((h) => ({ payload: h.payload as T, at: h.at }));
  }

  /** The payloads of `event` heard so far (after `since`, a mark). */
  all<T>(event: string, since = 0): T[] {
    return this.heardSoFar.slice(since).filter((h) => h.event === event).map((h) => h.payload as T);
  }

  /** The first payload of `event` that `match` takes, heard before this call (after `since`) or after it. */
  heard<T>(event: string, match: (payload: T) => boolean, { since = 0, timeoutMs = 20_000, what = event }: HeardOptions = {}): Promise<T> {
    const past = this.all<T>(event, since).find(match);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        event,
        match: match as Waiter["match"],
        resolve: (payload) => {
          clearTimeout(timer);
          resolve(payload as T);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** The ids of the orders whose rows the order writer inserted so far (`orders.persisted`). */
  persistedIds(): Set<string> {
    return new Set(this.all<OrdersEvent>(ORDERS_PERSISTED_EVENT).flatMap((e) => e.order_ids));
  }

  /** Resolves once the order writer announced the rows of all `orderIds` (`orders.persisted`). */
  persisted(orderIds: string[], timeoutMs = 20_000): Promise<void> {
    return this.ordersIn(ORDERS_PERSISTED_EVENT, orderIds, timeoutMs, "row");
  }

  /**
   * Resolves once all `orderIds` were announced in a final status (`orders.changed`: sent
   * after the inventory committed or released their units).
   */
  changed(orderIds: string[], timeoutMs = 20_000): Promise<void> {
    return this.ordersIn(ORDERS_CHANGED_EVENT, orderIds, timeoutMs, "final status");
  }

  private async ordersIn(event: string, orderIds: string[], timeoutMs: number, what: string): Promise<void> {
    await Promise.all(orderIds.map((id) =>
      this.heard<OrdersEvent>(event, (e) => e.order_ids.includes(id), { timeoutMs, what: `the ${what} of order ${id} (${event})` })));
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((i) => !test(i))];
}

const logs = new WeakMap<ServiceBroker, EventLog>();
const LISTENER = "test-event-log";

/**
 * Starts recording, on `broker`, the events of HEARD_EVENTS: a service of the test's with
 * an `events` handler for each (a broadcast reaches every node's listeners). Call it
 * before the actions whose events the test awaits, once per broker (beforeAll); `log()`
 * then finds the log. The listener is a service of its own: a node started with it would
 * list it among its services, so it is added to the started broker, not to every stack.
 */
export async function listenForEvents(broker: ServiceBroker): Promise<EventLog> {
  const log = new EventLog();
  broker.createService({
    name: LISTENER,
    events: Object.fromEntries(HEARD_EVENTS.map((event) => [event, { handler: (ctx: { params: unknown }) => log.record(event, ctx.params) }])),
  });
  await broker.waitForServices([LISTENER], 10_000);
  logs.set(broker, log);
  return log;
}

/** The log `listenForEvents` started on `broker`. */
export function log(broker: ServiceBroker): EventLog {
  const found = logs.get(broker);
  if (!found) throw new Error("no event log on this broker: call listenForEvents(stack.broker) in beforeAll");
  return found;
}
