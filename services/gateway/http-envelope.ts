/**
 * The one place where any failure becomes the HTTP error envelope of API.md:
 * `{ error: { code, message, details? } }`, a status, and the headers it needs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_STATUS, errorBody, type ErrorBody, type ErrorCode } from "../../src/lib/errors.ts";

export interface HttpError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

interface AnyError {
  message?: string;
  type?: string;
  code?: number | string;
  status?: number;
  data?: unknown;
}

function validationFields(data: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (Array.isArray(data)) {
    for (const item of data as Array<{ field?: string; message?: string }>) {
      const field = item.field ?? "body";
      if (!(field in fields)) fields[field] = item.message ?? "invalid";
    }
  }
  return fields;
}

/** The 4xx a library's error carries: http-errors' `status`, or a MoleculerError's numeric `code`. */
function clientStatus(e: AnyError): number | undefined {
  const status = typeof e.status === "number" ? e.status : typeof e.code === "number" ? e.code : undefined;
  return status !== undefined && status >= 400 && status < 500 ? status : undefined;
}

export function toHttpError(err: unknown): HttpError {
  const e = (err ?? {}) as AnyError;
  const headers: Record<string, string> = {};
  let code: ErrorCode;
  let message = e.message ?? "error";
  let details: Record<string, unknown> | undefined;
  let status: number | undefined;

  if (typeof e.type === "string" && e.type in ERROR_STATUS && e.type !== "INTERNAL") {
    code = e.type as ErrorCode;
    if (e.type === "VALIDATION_ERROR" && Array.isArray(e.data)) {
      details = { fields: validationFields(e.data) };
      message = "the request is invalid: " + Object.entries(details.fields as Record<string, string>).map(([f, m]) => `${f}: ${m}`).join("; ");
    } else if (e.data && typeof e.data === "object" && !Array.isArray(e.data)) {
      details = e.data as Record<string, unknown>;
    }
  } else if (e.type === "entity.parse.failed" || e.type === "request.aborted" || e.type === "request.size.invalid") {
    code = "BAD_REQUEST";
    message = "the request body is not valid JSON";
  } else if (e.type === "UNABLE_DECODE_PARAM") {
    // moleculer-web could not percent-decode a path segment (e.g. %ED%A0%80, a lone surrogate)
    code = "BAD_REQUEST";
    message = "a path segment is not valid percent-encoded UTF-8";
  } else if (e.type === "entity.too.large") {
    code = "BAD_REQUEST";
    status = 413;
    message = "the request body is larger than 16 KiB";
  } else if (e.type === "encoding.unsupported" || e.type === "charset.unsupported") {
    code = "BAD_REQUEST";
    message = "unsupported body encoding";
  } else if (e.type === "media.unsupported") {
    code = "BAD_REQUEST";
    status = 415;
  } else if (e.type === "NOT_FOUND") {
    code = "NOT_FOUND";
    message = "no such path";
  } else if (
    // SERVICE_NOT_FOUND: every node of the service that answers this route is gone
    // (dead, restarting, cut off from NATS): a path that exists, for now unserved.
    // REQUEST_SKIPPED: a call (a retry, say) would have begun after the request's own
    // deadline, so Moleculer did not send it: a timeout like REQUEST_TIMEOUT.
    e.type === "SERVICE_NOT_FOUND" || e.type === "SERVICE_NOT_AVAILABLE" || e.type === "REQUEST_TIMEOUT" || e.type === "SERVICE_UNAVAILABLE" ||
    e.type === "REQUEST_REJECTED" || e.type === "QUEUE_FULL" || e.type === "REQUEST_SKIPPED"
  ) {
    code = "UNAVAILABLE";
    message = "a service is unavailable, retry shortly";
    details = { dependency: "service" };
  } else if (e.type === "RATE_LIMIT_EXCEEDED") {
    code = "RATE_LIMITED";
  } else if (clientStatus(e) !== undefined) {
    code = "BAD_REQUEST";
  } else {
    code = "INTERNAL";
    message = "internal error";
  }

  if (code === "UNAVAILABLE" || code === "RATE_LIMITED") {
    const retry = (details as { retry_after?: number } | undefined)?.retry_after ?? 1;
    headers["Retry-After"] = String(retry);
  }
  return { status: status ?? ERROR_STATUS[code], body: errorBody(code, message, details), headers };
}

/** The Content-Type of every JSON answer of the gateway. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** What every JSON route takes: `application/json`, with no parameter but an optional charset=utf-8. */
const JSON_REQUEST_TYPE_RE = /^application\/json\s*(;\s*charset\s*=\s*(utf-8|"utf-8")\s*)?$/i;

/** True for the Content-Type of a JSON body this gateway takes. */
export function isJsonContentType(type: string | undefined): boolean {
  return type !== undefined && JSON_REQUEST_TYPE_RE.test(type);
}

/** Throws the 415 (BAD_REQUEST) of a body that is not `application/json` in UTF-8 (no Content-Type at all included). */
export function checkJsonContentType(type: string | undefined): void {
  if (isJsonContentType(type)) return;
  const message = type !== undefined && /^application\/json\s*(;|$)/i.test(type)
    ? "the body must be JSON in UTF-8: Content-Type application/json, no parameter but charset=utf-8"
    : "Content-Type must be application/json";
  // code: the status, so that moleculer-web does not log it as a server error
  throw Object.assign(new Error(message), { type: "media.unsupported", code: 415 });
}

/** Writes a JSON answer (unless the answer already started: then it only ends it). */
export function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  if (res.headersSent) return void res.end();
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": JSON_CONTENT_TYPE,
    "Content-Length": String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

/** Answers any failure with the envelope; an unexpected one (500) is logged with `what`. Returns the code sent. */
export function sendError(res: ServerResponse, err: unknown, logError: (...args: unknown[]) => void, what: string): ErrorCode {
  const h = toHttpError(err);
  if (h.body.error.code === "INTERNAL") logError("unhandled error", what, err);
  sendJson(res, h.status, h.headers, h.body);
  return h.body.error.code;
}

/** The latest request's response on each connection (see answerClientError). */
const latestResponse = new WeakMap<Duplex, ServerResponse>();
/** Connections whose bad bytes were answered: the parser reports its error again at every later chunk and at the end. */
const refused = new WeakSet<Duplex>();

/** Remembers `res` as its connection's latest response: call it for every request the server is handed. */
export function noteResponse(req: IncomingMessage, res: ServerResponse): void {
  latestResponse.set(req.socket, res);
}

/**
 * Answers a request Node's HTTP parser refused (a NUL or a bare CR in a header, a broken
 * request line, headers over the limit) with the envelope too: Node's own answer is a
 * bare status line without a body. Requests pipelined before the bad bytes are answered
 * first, in order (Node queues their responses): the envelope follows the last one
 * (noteResponse), and the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  if (refused.has(socket)) return;
  refused.add(socket);
  const [status, reason, message] =
    err.code === "HPE_HEADER_OVERFLOW" ? [431, "Request Header Fields Too Large", "the request headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "Request Timeout", "the request took too long to arrive"]
        : [400, "Bad Request", "the request is not valid HTTP"];
  const payload = JSON.stringify(errorBody("BAD_REQUEST", message));
  const answer = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`;
  const pending = latestResponse.get(socket);
  // before Node's own 'finish' listener, which ends a connection the client half-closed
  if (pending && !pending.writableFinished) pending.prependListener("finish", () => socket.end(answer));
  else socket.end(answer);
}
