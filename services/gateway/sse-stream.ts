/**
 * One client's Server-Sent Events stream: the framing (`event:` + one JSON `data:`
 * line, comment lines), a bound on what it may owe its client, and its end.
 *
 * What a stream owes is what it wrote and its client has not read yet. Most of that
 * can sit where the gateway cannot see it: a client that stops reading lets Node's
 * buffers stay empty while the kernel takes megabytes (the connection's send buffer,
 * auto-tuned up to net.ipv4.tcp_wmem's 4 MiB, plus the client's receive window). Node
 * cannot shrink that buffer (no SO_SNDBUF on a TCP socket), cannot read its fill, and
 * learns nothing of what the client read: a pending write or a missing 'drain' shows
 * only once the kernel's share is already full, so no count of stalled writes or
 * pending time bounds it. The one thing that does is what the gateway writes. So a
 * stream carries at most `maxBytes` (less a random quarter, so streams opened together
 * do not end together): past that it hands over — asks for a quick reconnect (`retry:`)
 * and ends. A client that stopped reading has then cost at most that, kernels
 * included; one that reads reconnects at once (EventSource does by itself) and gets
 * the current state first, so it loses nothing. Its first event is always sent, so
 * every connection makes progress. Should the last bytes not even leave Node (more than
 * the kernel takes), the connection is closed after FLUSH_TIMEOUT_MS: the client is
 * dropped.
 */
import type { ServerResponse, OutgoingHttpHeaders } from "node:http";
import { PassThrough } from "node:stream";

/** How long a browser waits before it reconnects (EventSource's `retry`). */
const RETRY_MS = 2000;
/**
 * sent last by a stream that hands over: its client comes back at once, and a page can
 * tell this planned end (event `handover`) from a lost connection
 */
const HANDOVER = "event: handover\ndata: {}\nretry: 100\n\n";
/** how long an ended stream's last bytes may take to leave Node before the connection is closed */
const FLUSH_TIMEOUT_MS = 15_000;

export class SseStream {
  readonly body = new PassThrough();
  /** what the last event sent was (a topic's change key): an unchanged state is not sent twice */
  lastKey: string | undefined;
  /** what this connection may carry: maxBytes less up to a quarter */
  readonly #budget: number;
  readonly #onDrop: () => void;
  #written = 0;
  #events = 0;
  #open = true;

  /** `jitter` in [0, 1): how much of the quarter is taken off (random unless given) */
  constructor(maxBytes: number, onDrop: () => void, jitter = Math.random()) {
    this.#budget = Math.floor(maxBytes * (1 - jitter / 4));
    this.#onDrop = onDrop;
    this.body.on("close", () => (this.#open = false));
    this.body.on("error", () => undefined); // a destroyed response: 'close' follows, nothing to report
    this.#write(`retry: ${RETRY_MS}\n\n`);
  }

  get open(): boolean {
    return this.#open && !this.body.writableEnded;
  }

  /** Bytes written to this stream so far (never more than maxBytes, or its first event). */
  get written(): number {
    return this.#written;
  }

  /** Runs `fn` once, when the stream is gone (ended and flushed, dropped, or the client left). */
  onClose(fn: () => void): void {
    if (this.body.closed) fn();
    else this.body.once("close", fn);
  }

  send(event: string, data: unknown, key?: string): void {
    this.lastKey = key;
    if (this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, this.#events === 0)) this.#events++;
  }

  /** A comment line: keeps proxies from closing an idle stream. */
  comment(text = ""): void {
    this.#write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.open) this.body.end();
  }

  /** `first`: the stream's first event, sent whatever its size */
  #write(chunk: string, first = false): boolean {
    if (!this.open) return false;
    const bytes = Buffer.byteLength(chunk);
    if (!first && this.#written + bytes + HANDOVER.length > this.#budget) {
      this.#written += HANDOVER.length;
      this.body.end(HANDOVER);
      return false;
    }
    this.#written += bytes;
    this.body.write(chunk);
    return true;
  }

  /**
   * Answers `res` with this stream: the headers at once, then every event as it is
   * written. The connection closes with the stream (a stopping gateway is not held by
   * idle sockets) unless `keepAlive` (then it is an idle connection like any other, closed
   * by a draining gateway), and is closed anyway, the client dropped, if the stream's
   * last bytes cannot leave Node within FLUSH_TIMEOUT_MS.
   */
  answer(res: ServerResponse, headers: OutgoingHttpHeaders, { keepAlive = false } = {}): void {
    if (!keepAlive) res.shouldKeepAlive = false;
    // (a draining gateway has already turned keep-alive off: left so)
    res.writeHead(200, keepAlive && res.shouldKeepAlive ? { ...headers, Connection: "keep-alive" } : headers);
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.on("close", () => this.body.destroy());
    this.body.once("end", () => {
      const stuck = setTimeout(() => {
        this.#onDrop();
        res.destroy();
      }, FLUSH_TIMEOUT_MS);
      stuck.unref();
      res.once("close", () => clearTimeout(stuck));
    });
    this.body.pipe(res);
  }
}

/** The streams that follow one thing (an order, a product, a ticket): sent every new state, or still opening. */
export interface Watchers {
  /** streams sent every new state */
  streams: Set<SseStream>;
  /** streams whose first state is being read and admitted: sent nothing yet */
  opening: Set<SseStream>;
}

/**
 * Adds `stream` to `w` around its first state: watched before the first read (a change
 * between the read and the watch is not missed), the state read and admitted (`admit` may
 * throw to refuse the stream), then sent. `unwatch` forgets the stream (also when it closes).
 */
export async function watchFrom<V>(
  w: Watchers, stream: SseStream, o: { read: () => Promise<V>; admit?: (first: V) => void; unwatch: () => void; deliver: () => void },
): Promise<void> {
  w.opening.add(stream);
  stream.onClose(o.unwatch);
  try {
    const first = await o.read();
    o.admit?.(first);
  } catch (err) {
    o.unwatch();
    throw err;
  }
  w.opening.delete(stream);
  if (!stream.open) return o.unwatch();
  w.streams.add(stream);
  o.deliver();
}
