/**
 * A Server-Sent Events client for tests, over fetch: `next(check)` resolves with the
 * first event (from now on, or already buffered) that `check` accepts.
 */
export interface SseEvent {
  event: string;
  data: string;
}

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
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) events.push({ event, data: data.join("\n") });
        }
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
