/**
 * The events of a Server-Sent Events body (a `fetch` response's `body`), for runtimes
 * without EventSource or where a request needs headers EventSource cannot send (the
 * buyer's token). Only what the service sends is read: events ended by "\n\n", their
 * `event:` and `data:` lines; a comment line (`:`) and `retry:` are skipped.
 */
export interface ServerSentEvent {
  /** the `event:` name ("message" when none) */
  event: string;
  /** the `data:` lines, joined with "\n" */
  data: string;
}

/** Yields each event of `body` as it arrives; ends when the server ends the stream. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
    }
  }
}
