/**
 * The one Content-Type rule of every JSON route (services/gateway/http-envelope.ts): application/json,
 * with no parameter but charset=utf-8; anything else is the 415 of media.unsupported.
 */
import { checkJsonContentType, isJsonContentType, toHttpError } from "../../services/gateway/http-envelope.ts";

test("application/json is taken, bare or with charset=utf-8, in any case and spacing", () => {
  for (const type of ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8", 'application/json; charset="utf-8"']) {
    expect(isJsonContentType(type)).toBe(true);
    expect(() => checkJsonContentType(type)).not.toThrow();
  }
});

test("no Content-Type, another type, a +json type, another charset or parameter: 415 with BAD_REQUEST", () => {
  for (const type of [undefined, "", "text/plain", "application/jsonp", "application/vnd.api+json", "application/x-www-form-urlencoded",
    "application/json; charset=iso-8859-1", "application/json; charset=utf8", "application/json; boundary=x", "application/json, text/plain"]) {
    expect(isJsonContentType(type)).toBe(false);
    let thrown: unknown;
    try {
      checkJsonContentType(type);
    } catch (err) {
      thrown = err;
    }
    expect(toHttpError(thrown)).toMatchObject({ status: 415, body: { error: { code: "BAD_REQUEST", message: expect.stringMatching(/application\/json/) } } });
  }
});
