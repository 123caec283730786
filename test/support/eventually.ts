/**
 * Resolves once `check` returns a truthy value, polling every 50 ms; a `check` that
 * throws is tried again. For a change nothing announces (a process's output, a metric,
 * the stream's lag): where an event announces it, await the event (./events.ts).
 */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
