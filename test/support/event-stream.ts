/**
 * A Server-Sent Events client for the tests, over plain node:http (the status, the
 * headers, every comment line and the moment the server ends the stream are visible).
 */
import { request, type IncomingHttpHeaders } from "node:http";

export interface SseEvent {
  event: string;
  data: any;
  /** when it was received (Date.now()) */
  at: number;
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** every event received so far, in order */
  events: SseEvent[];
  /** comment lines received so far */
  comments: number;
  /** the body of a non-200 answer, parsed */
  body: any;
  /** resolves with the first event (from index `from` on) that matches */
  next(match: (e: SseEvent) => boolean, from?: number, timeoutMs?: number): Promise<SseEvent>;
  /** resolves when the server ended the stream */
  ended: Promise<void>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      let waiters: Array<() => boolean> = [];
      let endResolve!: () => void;
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: 0,
        body: null,
        ended: new Promise<void>((r) => (endResolve = r)),
        next(match, from = 0, timeoutMs = 15_000) {
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(client.events)}`)), timeoutMs);
            const check = () => {
              const found = client.events.slice(from).find(match);
              if (!found) return false;
              clearTimeout(timer);
              ok(found);
              return true;
            };
            if (!check()) waiters.push(check);
          });
        },
        close: () => req.destroy(),
      };
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (client.status !== 200) continue;
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) client.comments++;
            else if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) client.events.push({ event, data: JSON.parse(data.join("\n")), at: Date.now() });
          waiters = waiters.filter((w) => !w());
        }
      });
      const finish = () => {
        if (client.status !== 200 && buffer) client.body = JSON.parse(buffer);
        endResolve();
      };
      res.on("end", finish);
      res.on("close", finish);
      if (client.status === 200) resolve(client);
      else res.on("end", () => resolve(client));
    });
    req.on("error", reject);
    req.end();
  });
}
