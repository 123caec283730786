import { PassThrough, Writable } from "node:stream";
import { SseStream } from "../../services/gateway/sse-stream.ts";

/** Reads everything a stream sends, as text. */
function collect(body: PassThrough): () => string {
  let text = "";
  body.on("data", (c: Buffer) => (text += c.toString("utf8")));
  return () => text;
}

test("frames events as `event:` plus one JSON `data:` line, comments as `:` lines, after a `retry:` line", async () => {
  const s = new SseStream(64 * 1024, () => undefined);
  const text = collect(s.body);
  s.send("order", { status: "pending", note: "two\nlines" }, "pending");
  s.comment();
  s.end();
  await new Promise((r) => s.onClose(() => r(undefined)));
  expect(text()).toBe('retry: 2000\n\nevent: order\ndata: {"status":"pending","note":"two\\nlines"}\n\n: \n\n');
  expect(s.lastKey).toBe("pending");
});

test("a client that stops reading is dropped once its buffer passes the bound, and nothing more is buffered for it", async () => {
  let dropped = 0;
  const s = new SseStream(4096, () => dropped++);
  // a connection whose far end stopped reading: writes are never acknowledged
  const stalled = new Writable({ highWaterMark: 1024, write() {} });
  s.body.pipe(stalled);
  const closed = new Promise((r) => s.onClose(() => r(undefined)));
  const payload = { text: "x".repeat(200) };
  for (let i = 0; i < 100 && s.open; i++) s.send("product", payload, String(i));
  await closed;
  expect(dropped).toBe(1);
  expect(s.open).toBe(false);
  s.send("product", payload, "after");
  s.comment();
  expect(dropped).toBe(1);
});

test("a client that reads keeps its stream however many events pass", async () => {
  let dropped = 0;
  const s = new SseStream(4096, () => dropped++);
  const text = collect(s.body);
  for (let i = 0; i < 200; i++) {
    s.send("product", { text: "x".repeat(200), i }, String(i));
    await new Promise((r) => setImmediate(r));
  }
  expect(dropped).toBe(0);
  expect(s.open).toBe(true);
  expect(text().split("event: product").length - 1).toBe(200);
  s.end();
});
