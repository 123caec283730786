/**
 * A Server-Sent Events client for tests, over fetch: `next(check)` resolves with the
 * first event (from now on, or already buffered) that `check` accepts.
 */
import { serverSentEvents, type ServerSentEvent } from "../../client/event-stream.ts";

/** one event, parsed as the typed client parses them (client/event-stream.ts) */
export type SseEvent = ServerSentEvent;

export interface SseStream {
  status: number;
  headers: Headers;
  /** the body of a refused stream (not an event stream) */
  text: string;
  next<T = SseEvent>(check: (e: SseEvent) => T | undefined | null | false, timeoutMs?: number, what?: string): Promise<T>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, next: () => Promise.reject(new Error("not an event stream")), close() {} };
  }
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  void (async () => {
    try {
      for await (const e of serverSentEvents(res.body!)) {
        events.push(e);
        for (const w of waiters) w();
      }
    } catch {
      // aborted by close()
    }
    ended = true;
    for (const w of waiters) w();
  })();

  return {
    status: res.status,
    headers: res.headers,
    text: "",
    next(check, timeoutMs = 20_000, what = "an event") {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`timed out waiting for ${what}; last event: ${events.at(-1)?.data.slice(0, 2000)}`));
        }, timeoutMs);
        const look = () => {
          for (; seen < events.length; seen++) {
            const v = check(events[seen]);
            if (v) {
              clearTimeout(timer);
              waiters.delete(look);
              return resolve(v as never);
            }
          }
          if (ended) {
            clearTimeout(timer);
            waiters.delete(look);
            reject(new Error(`the stream ended before ${what}`));
          }
        };
        waiters.add(look);
        look();
      });
    },
    close() {
      abort.abort();
    },
  };
}
