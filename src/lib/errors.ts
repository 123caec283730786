/**
 * Every error a client can cause: one code from API.md, one HTTP status, one class.
 * Services throw these (or, on hot paths, answer a refusal as a value: ReserveOutcome in
 * src/contracts/reservation.ts); the gateway turns both into the envelope
 * `{ error: { code, message, details } }` in one function, `toHttpError` (services/gateway/http-envelope.ts).
 */
import moleculer from "moleculer";

const { MoleculerClientError, MoleculerRetryableError } = moleculer.Errors;

export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  ENTRY_REQUIRED: 403,
  ENTRY_INVALID: 403,
  CHALLENGE_FAILED: 403,
  PAYLOAD_TOO_LARGE: 413,
  SOLD_OUT: 409,
  INSUFFICIENT_STOCK: 409,
  SALE_NOT_ACTIVE: 409,
  LIMIT_EXCEEDED: 409,
  ORDER_NOT_CANCELLABLE: 409,
  ENTRY_USED: 409,
  QUEUE_NOT_OPEN: 409,
  QUEUE_CLOSED: 409,
  VALIDATION_ERROR: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  AMOUNT_MISMATCH: 422,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** A client-caused failure: 4xx, never retried by the broker. */
export class FlashError extends MoleculerClientError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, ERROR_STATUS[code], code, details);
    this.name = "FlashError";
  }
}

/** A dependency is down; nothing was reserved. The client may retry after `retryAfter` seconds. */
export class UnavailableError extends MoleculerRetryableError {
  constructor(message: string, dependency: string, retryAfter = 1) {
    super(message, 503, "UNAVAILABLE", { dependency, retry_after: retryAfter });
    this.name = "UnavailableError";
  }
}

/** The caller's deadline passed before the work began: nothing done; not retried (the caller has moved on). */
export class CallerGaveUpError extends UnavailableError {
  constructor() {
    super("the request arrived after its caller's deadline", "service", 1);
    this.name = "CallerGaveUpError";
    this.retryable = false;
  }
}

export const notFound = (code: "PRODUCT_NOT_FOUND" | "ORDER_NOT_FOUND" | "TICKET_NOT_FOUND" | "NOT_FOUND", message: string) =>
  new FlashError(code, message);

export const validation = (message: string, fields: Record<string, string>) =>
  new FlashError("VALIDATION_ERROR", message, { fields });

/**
 * An error carried as a value: one request's failure among the answers of a batched
 * call (inventory.reserveMany), which must not fail the other requests of the batch.
 * Keeps what the gateway's envelope reads (`toHttpError`: type, code, data, message).
 */
export interface ErrorValue {
  error: { name: string; message: string; type?: string; code?: number | string; data?: unknown };
}

export function errorValue(err: unknown): ErrorValue {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; type?: unknown; code?: unknown; data?: unknown };
  return {
    error: {
      name: typeof e.name === "string" ? e.name : "Error",
      message: typeof e.message === "string" ? e.message : String(err),
      ...(typeof e.type === "string" ? { type: e.type } : {}),
      ...(typeof e.code === "number" || typeof e.code === "string" ? { code: e.code } : {}),
      ...(e.data !== undefined ? { data: e.data } : {}),
    },
  };
}

export function isErrorValue(v: unknown): v is ErrorValue {
  return typeof v === "object" && v !== null && "error" in v && !("ok" in v);
}

/** The error an ErrorValue carries, as a MoleculerError again (not retried: it was the callee's answer). */
export function errorOfValue(v: ErrorValue): Error {
  const { name, message, type, code, data } = v.error;
  const err = new moleculer.Errors.MoleculerError(message, typeof code === "number" ? code : 500, type ?? "", data);
  err.name = name;
  return err;
}
