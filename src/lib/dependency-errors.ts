/**
 * A Moleculer middleware on every node: an action that failed because PostgreSQL is
 * down or restarting answers UNAVAILABLE (503 with Retry-After) instead of an internal
 * error, whichever service ran into it — the client can do nothing but retry later.
 */
import type { Context } from "moleculer";
import { isDatabaseUnavailable } from "./db.ts";
import { UnavailableError } from "./errors.ts";

type Handler = (ctx: Context) => Promise<unknown>;

export const DependencyErrors = {
  name: "DependencyErrors",
  localAction(next: Handler) {
    return (ctx: Context) =>
      next(ctx).catch((err: unknown) => {
        throw asDependencyError(err);
      });
  },
};

/** What a client is told of an error: a database outage as UNAVAILABLE, anything else as it is. */
export function asDependencyError(err: unknown): unknown {
  return isDatabaseUnavailable(err) ? new UnavailableError(`the database is unavailable: ${(err as Error).message}`, "db", 2) : err;
}
