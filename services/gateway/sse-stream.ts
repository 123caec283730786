/**
 * One client's Server-Sent Events stream: the framing (`event:` + one JSON `data:`
 * line, comment lines), a bounded buffer, and its end.
 *
 * `body` is what moleculer-web pipes into the response. A client that stops reading
 * makes the pipe stall and `body` fill up; past `maxBufferedBytes` the stream is
 * dropped (destroyed: the connection closes) instead of holding memory for it. A
 * dropped client that reconnects gets the current state first, so it loses nothing.
 */
import { PassThrough } from "node:stream";

/** How long a browser waits before it reconnects (EventSource's `retry`). */
const RETRY_MS = 2000;

export class SseStream {
  readonly body = new PassThrough();
  /** what the last event sent was (a topic's change key): an unchanged state is not sent twice */
  lastKey: string | undefined;
  readonly #maxBufferedBytes: number;
  readonly #onDrop: () => void;
  #open = true;

  constructor(maxBufferedBytes: number, onDrop: () => void) {
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#onDrop = onDrop;
    this.body.on("close", () => (this.#open = false));
    this.body.on("error", () => undefined); // a destroyed response: 'close' follows, nothing to report
    this.#write(`retry: ${RETRY_MS}\n\n`);
  }

  get open(): boolean {
    return this.#open && !this.body.writableEnded;
  }

  /** Bytes written but not yet taken by the connection. */
  get buffered(): number {
    return this.body.writableLength + this.body.readableLength;
  }

  /** Runs `fn` once, when the stream is gone (ended and flushed, dropped, or the client left). */
  onClose(fn: () => void): void {
    if (this.body.closed) fn();
    else this.body.once("close", fn);
  }

  send(event: string, data: unknown, key?: string): void {
    this.lastKey = key;
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: keeps proxies from closing an idle stream. */
  comment(text = ""): void {
    this.#write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.open) this.body.end();
  }

  #write(chunk: string): void {
    if (!this.open) return;
    if (this.buffered + chunk.length > this.#maxBufferedBytes) {
      this.#open = false;
      this.#onDrop();
      this.body.destroy();
      return;
    }
    this.body.write(chunk);
  }
}
