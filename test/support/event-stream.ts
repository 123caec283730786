/**
 * A Server-Sent Events client for the tests, over plain node:http (the status, the
 * headers, every comment line and the moment the server ends the stream are visible).
 */
import { request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";

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

/** A reader that reopens the stream whenever the server ends it, as a browser's EventSource does. */
export interface SseFollower {
  /** the connections opened so far, oldest first */
  connections: SseClient[];
  /** resolves with the first event, on any connection, that matches */
  until(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

export function followSse(url: string, headers: Record<string, string> = {}): SseFollower {
  const connections: SseClient[] = [];
  let closed = false;
  let current: Promise<SseClient>;
  const open = () => {
    current = openSse(url, headers).then((c) => {
      connections.push(c);
      if (closed) c.close();
      else void c.ended.then(() => closed || open());
      return c;
    });
  };
  open();
  return {
    connections,
    async until(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = connections.flatMap((c) => c.events).find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms over ${connections.length} connections`);
        const c = await current;
        // the match on this connection, or its end (the next one is opening)
        await Promise.race([c.next(match, 0, left).catch(() => undefined), c.ended]);
      }
    },
    close() {
      closed = true;
      for (const c of connections) c.close();
    },
  };
}

/** A raw HTTP/1.1 client that sends a GET and then reads nothing until `read()`: a client that stopped reading. */
export interface StalledReader {
  /** reads what the server sent, to its end or until the body passes `limit` bytes; `ended`: the server ended the response (or closed the connection) */
  read(limit: number, timeoutMs?: number): Promise<{ head: string; body: string; bytes: number; ended: boolean }>;
  close(): void;
}

export async function stalledReader(base: string, path: string, headers: Record<string, string> = {}): Promise<StalledReader> {
  const { hostname, port } = new URL(base);
  const chunks: Buffer[] = [];
  let onData = () => undefined as unknown;
  let ended = false;
  // onread: the socket reads into this buffer only while resumed, so a paused one leaves
  // everything in the kernel (a plain paused socket still reads up to its highWaterMark)
  const socket = connect({
    host: hostname, port: Number(port),
    onread: { buffer: Buffer.alloc(64 * 1024), callback: (n: number, buf: Uint8Array) => { chunks.push(Buffer.from(buf.subarray(0, n))); onData(); return true; } },
  });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.pause();
  socket.on("end", () => ((ended = true), onData()));
  socket.on("close", () => ((ended = true), onData()));
  const lines = Object.entries({ host: `${hostname}:${port}`, accept: "text/event-stream", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`GET ${path} HTTP/1.1\r\n${lines.join("")}\r\n`);
  const parse = () => {
    const raw = Buffer.concat(chunks).toString("latin1");
    const at = raw.indexOf("\r\n\r\n");
    if (at < 0) return { head: raw, body: "", bytes: 0, complete: false };
    const head = raw.slice(0, at);
    let rest = raw.slice(at + 4);
    if (!/^transfer-encoding: chunked$/im.test(head)) return { head, body: Buffer.from(rest, "latin1").toString("utf8"), bytes: rest.length, complete: false };
    let body = "";
    let complete = false;
    for (;;) {
      const eol = rest.indexOf("\r\n");
      if (eol < 0) break;
      const size = parseInt(rest.slice(0, eol), 16);
      // the last chunk: the response is complete (the connection may stay open for another)
      complete = size === 0 && rest.startsWith("0\r\n\r\n");
      if (!(size > 0) || rest.length < eol + 2 + size) break;
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    return { head, body: Buffer.from(body, "latin1").toString("utf8"), bytes: body.length, complete };
  };
  return {
    read(limit, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the stream neither ended nor passed ${limit} bytes within ${timeoutMs} ms: ${parse().bytes} read`)), timeoutMs);
        onData = () => {
          const { complete, ...p } = parse();
          if (!ended && !complete && p.bytes <= limit) return;
          clearTimeout(timer);
          resolve({ ...p, ended: ended || complete });
        };
        socket.resume();
        onData();
      });
    },
    close: () => socket.destroy(),
  };
}
