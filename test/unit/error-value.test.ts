/**
 * One request's failure in a batched call travels as a value (src/lib/errors.ts's
 * ErrorValue) through JSON, like a Moleculer reply between nodes: the buyer must get
 * the answer the error itself would have given (status, envelope, Retry-After).
 */
import moleculer from "moleculer";
import { CallerGaveUpError, errorOfValue, errorValue, FlashError, isErrorValue, UnavailableError } from "../../src/lib/errors.ts";
import { toHttpError } from "../../services/gateway/http-envelope.ts";
import { asDependencyError } from "../../src/lib/dependency-errors.ts";

const overTheWire = (err: unknown) => errorOfValue(JSON.parse(JSON.stringify(errorValue(err))));

test.each([
  ["a dependency down", new UnavailableError("order stream unavailable: timeout", "nats", 1)],
  ["a call past its deadline", new CallerGaveUpError()],
  ["a client error", new FlashError("PRODUCT_NOT_FOUND", "product 7 does not exist")],
  ["a validation error", new moleculer.Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [{ field: "qty", message: "too big", type: "numberMax" }])],
  ["the database down", asDependencyError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))],
  ["a bug", new TypeError("x is not a function")],
])("%s is answered the same when carried as a value", (_what, err) => {
  const carried = overTheWire(err);
  expect(toHttpError(carried)).toEqual(toHttpError(err));
});

test("an answer is not mistaken for an error value, and an error value is recognised", () => {
  expect(isErrorValue({ ok: false, code: "SOLD_OUT", message: "the product is sold out" })).toBe(false);
  expect(isErrorValue({ ok: true, order: {}, replayed: false })).toBe(false);
  expect(isErrorValue(JSON.parse(JSON.stringify(errorValue(new UnavailableError("down", "redis")))))).toBe(true);
});

test("a call Moleculer skipped because the request's deadline had passed (a retry too late) is 503 with Retry-After, not 500", () => {
  const skipped = new moleculer.Errors.RequestSkippedError({ action: "inventory.reserveMany", nodeID: "gw-1" });
  expect(toHttpError(skipped)).toMatchObject({ status: 503, body: { error: { code: "UNAVAILABLE", details: { dependency: "service" } } }, headers: { "Retry-After": "1" } });
  expect(toHttpError(overTheWire(skipped)).status).toBe(503);
});
