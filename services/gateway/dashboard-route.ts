/**
 * The operator's dashboard: the page (GET /dashboard and its two assets, files in
 * ./pages) and its live stream (GET /api/admin/dashboard/events, Server-Sent Events).
 * Answered in front of moleculer-web's router, like ./order-route.ts: a stream stays
 * open for minutes, which a request/response action is not made for. The stream is
 * admin data: it needs the session cookie the page got from
 * POST /api/admin/dashboard/session (src/ops/dashboard-session.ts), and ends when
 * that cookie expires or is signed out (checked again every REVOCATION_CHECK_MS, on
 * whichever node it was signed out), so the page trades its token again.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FlashError } from "../../src/lib/errors.ts";
import { sendError } from "./http-envelope.ts";
import type { DashboardSession } from "../../src/ops/dashboard-session.ts";
import type { DashboardFeed } from "../../src/ops/dashboard-feed.ts";
import { SseStream } from "./sse-stream.ts";

export const DASHBOARD_EVENTS_PATH = "/api/admin/dashboard/events";
/** how soon an open stream of a signed-out session ends */
const REVOCATION_CHECK_MS = 2000;

const page = (file: string, type: string) => ({ body: readFileSync(new URL(`./pages/${file}`, import.meta.url)), type });
const PAGES: Record<string, { body: Buffer; type: string }> = {
  "/dashboard": page("dashboard.html", "text/html; charset=utf-8"),
  "/dashboard/app.js": page("dashboard.js", "text/javascript; charset=utf-8"),
  "/dashboard/app.css": page("dashboard.css", "text/css; charset=utf-8"),
};
// the page runs only its own script: no inline code, no other origin
const PAGE_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

type Logger = { error: (...args: unknown[]) => void };

export interface DashboardRoute {
  /** Answers the request and returns true when it is the page or the stream; false leaves it alone. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends every open stream (a server does not close while one is open). */
  close(): void;
}

export interface DashboardStreams {
  /** what one stream may owe its client (SSE_MAX_BUFFERED_BYTES, ./sse-stream.ts) */
  maxBytes: number;
  /** a client that did not keep up was dropped */
  onDrop?: () => void;
}

export function dashboardRoute(session: DashboardSession, feed: DashboardFeed, logger: Logger, streams: DashboardStreams): DashboardRoute {
  const open = new Set<() => void>();

  /** The stream; for HEAD, what GET would answer (the session checked), without a body. */
  async function stream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const what = `${req.method} ${DASHBOARD_EVENTS_PATH}`;
    const expiresAt = await session.check(req.headers.cookie, Date.now()).catch((err: unknown) => {
      sendError(res, err, logger.error.bind(logger), what);
      return undefined;
    });
    // answered (the check failed), or the client left meanwhile
    if (expiresAt === undefined || req.socket.destroyed) return;
    if (expiresAt === null) {
      sendError(res, new FlashError("UNAUTHORIZED", "a dashboard session is required: POST /api/admin/dashboard/session with the admin token"),
        logger.error.bind(logger), what);
      return;
    }
    const headers = { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" };
    if (req.method === "HEAD") {
      res.writeHead(200, headers).end();
      return;
    }
    const sse = new SseStream(streams.maxBytes, () => streams.onDrop?.());
    // kept alive as before: a client of the fetch API (undici) answered `Connection: close`
    // opens a spare connection that never sends a request and holds a stopping gateway
    sse.answer(res, headers, { keepAlive: true });
    const unsubscribe = feed.subscribe((snapshot) => sse.send("snapshot", snapshot));
    const end = () => {
      clearTimeout(expiry);
      clearInterval(revocation);
      unsubscribe();
      open.delete(end);
      sse.end();
    };
    const expired = () => {
      sse.send("expired", {});
      end();
    };
    const expiry = setTimeout(expired, expiresAt - Date.now());
    // signed out (on any node): ended too; Redis unreachable for a moment keeps it open
    const revocation = setInterval(() => {
      session.check(req.headers.cookie, Date.now()).then((ok) => ok === null && open.has(end) && expired(), () => undefined);
    }, REVOCATION_CHECK_MS);
    open.add(end);
    // gone: the client left, the stream handed over or was dropped
    sse.onClose(end);
  }

  return {
    handle(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const path = (req.url ?? "").split("?")[0];
      if (path === DASHBOARD_EVENTS_PATH) {
        void stream(req, res);
        return true;
      }
      const p = PAGES[path];
      if (!p) return false;
      res.writeHead(200, { ...PAGE_HEADERS, "Content-Type": p.type, "Content-Length": String(p.body.length) });
      res.end(req.method === "HEAD" ? undefined : p.body);
      return true;
    },
    close() {
      for (const end of [...open]) end();
    },
  };
}
