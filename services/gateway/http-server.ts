/**
 * The gateway's HTTP server: moleculer-web's router behind the routes answered in front
 * of it (POST /api/orders: ./order-route.ts; the dashboard: ./dashboard-route.ts), the
 * HTTP edges answered with the envelope, and a shutdown that lets the requests being
 * answered finish.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Lifecycle } from "../../src/lib/lifecycle.ts";
import { errorBody } from "../../src/lib/errors.ts";
import { answerClientError, noteResponse, sendJson } from "./http-envelope.ts";
import type { HttpAnswers } from "./http-answers.ts";
import type { OrderRoute } from "./order-route.ts";
import type { DashboardRoute } from "./dashboard-route.ts";
import type { LiveUpdates } from "./live-updates.ts";
import { headAsGet, type Req } from "./routes.ts";

/** pending connections the kernel queues for us (capped by net.core.somaxconn) */
const LISTEN_BACKLOG = 4096;

export interface GatewayServerDeps {
  lifecycle: Lifecycle;
  orders: OrderRoute;
  dashboard: DashboardRoute;
  live: LiveUpdates;
  /** every answer by status */
  answers: HttpAnswers;
  /** moleculer-web's router */
  router: (req: IncomingMessage, res: ServerResponse) => void;
}

export function gatewayServer({ lifecycle, orders, dashboard, live, answers, router }: GatewayServerDeps): http.Server {
  // Host is checked below, to answer its absence with the envelope (Node's answer has no body)
  const server = http.createServer({ requireHostHeader: false }, (req: IncomingMessage, res) => {
    // draining: answer what still arrives, and have the client reconnect elsewhere
    if (lifecycle.draining) res.shouldKeepAlive = false;
    // a parse error after this request is answered after this response (answerClientError)
    noteResponse(req, res);
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      res.shouldKeepAlive = false;
      answers.count(400);
      sendJson(res, 400, {}, errorBody("BAD_REQUEST", "an HTTP/1.1 request needs a Host header"));
      return;
    }
    // the order route counts its own answers; every other answer is counted when it is sent
    if (orders.handle(req, res)) return;
    res.on("finish", answers.onFinish);
    if (dashboard.handle(req, res)) return;
    if (req.method === "HEAD") headAsGet(req as Req, res);
    router(req, res);
  });
  // Shutdown: stop accepting, close idle keep-alive connections, and wait (bounded
  // by the shutdown timeout) for the requests being answered.
  lifecycle.onDrain(
    () =>
      new Promise<void>((resolve) => {
        // live streams end now (their clients reconnect through the balancer to a
        // ready node): open, they would hold the listener until the shutdown timeout
        live.stop();
        server.close(() => resolve());
        // a dashboard's stream never ends by itself: end it (the page reconnects elsewhere)
        dashboard.close();
        server.closeIdleConnections();
      }),
  );
  // Idle keep-alive connections outlive the load balancer's reuse of them (HAProxy
  // purges idle server connections within seconds): with Node's default of 5 s, a
  // request sent on a connection the gateway is closing that instant fails (502).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("clientError", answerClientError);
  // moleculer-web listens with Node's default backlog (511): the connections of a
  // drop arrive in one burst, and an overflowing accept queue resets them.
  const listen = server.listen.bind(server) as (port: number, host: string, backlog: number, cb: () => void) => http.Server;
  server.listen = ((port: number, host: string, cb: () => void) => listen(port, host, LISTEN_BACKLOG, cb)) as typeof server.listen;
  return server;
}
