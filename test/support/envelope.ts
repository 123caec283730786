/**
 * The error envelope of API.md, `{ "error": { "code", "message", "details"? } }`, as
 * the tests expect it: the status and the code, a message, nothing beside `error`.
 */
export function expectEnvelope(r: { status: number; body: any }, status: number, code: string): void {
  expect([r.status, r.body]).toEqual([status, { error: expect.objectContaining({ code, message: expect.any(String) }) }]);
}
