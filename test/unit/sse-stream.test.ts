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

test("a stream hands over once it has written what it may owe: its events, a quick-reconnect `retry:`, its end, and nothing after", async () => {
  const s = new SseStream(4096, () => undefined, 0);
  const text = collect(s.body);
  const closed = new Promise((r) => s.onClose(() => r(undefined)));
  const payload = { text: "x".repeat(200) };
  let sent = 0;
  for (; sent < 100 && s.open; sent++) s.send("product", payload, String(sent));
  await closed;
  expect(s.open).toBe(false);
  expect(text().length).toBe(s.written);
  expect(s.written).toBeLessThanOrEqual(4096);
  expect(s.written).toBeGreaterThan(4096 - 250); // one more event would not have fitted
  expect(text()).toMatch(/^retry: 2000\n\n(event: product\ndata: \{[^\n]*\}\n\n)+event: handover\ndata: \{\}\nretry: 100\n\n$/);
  expect(text().split("event: product").length - 1).toBe(sent - 1); // the one that did not fit is not sent
  s.send("product", payload, "after");
  s.comment();
  expect(text().length).toBe(s.written);
});

test("streams opened together hand over at different points, never past the bound", () => {
  const budgets = [0, 0.5, 0.99].map((jitter) => {
    const s = new SseStream(4096, () => undefined, jitter);
    s.body.resume();
    while (s.open) s.comment("x".repeat(50));
    return s.written;
  });
  expect(new Set(budgets).size).toBe(3);
  for (const b of budgets) expect(b).toBeGreaterThan(3000);
  for (const b of budgets) expect(b).toBeLessThanOrEqual(4096);
});

test("a stream's first event is sent even when larger than the bound, so every connection makes progress", async () => {
  const s = new SseStream(1024, () => undefined, 0);
  const text = collect(s.body);
  s.send("snapshot", { text: "x".repeat(2000) });
  expect(s.open).toBe(true);
  s.send("snapshot", { text: "y" });
  await new Promise((r) => s.onClose(() => r(undefined)));
  expect(text()).toMatch(/^retry: 2000\n\nevent: snapshot\ndata: \{"text":"x{2000}"\}\n\nevent: handover\ndata: \{\}\nretry: 100\n\n$/);
});
