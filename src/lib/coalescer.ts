/**
 * Coalesces bursts of "this key changed" into at most one flush per interval per key.
 *
 * The first touch of a quiet key flushes at once; touches during the interval that
 * follows (and while a flush is still running) are folded into one more flush at its
 * end, so the last change is always flushed. A drop of 10,000 winners thus costs a
 * watcher a few updates per second, never 10,000. Flushes of one key never overlap,
 * so their results arrive in order.
 */
export class Coalescer<K> {
  readonly #intervalMs: number;
  readonly #flush: (key: K) => unknown;
  /** keys inside their interval; `dirty` when touched again since their flush began */
  readonly #busy = new Map<K, { dirty: boolean }>();

  constructor(intervalMs: number, flush: (key: K) => unknown) {
    this.#intervalMs = intervalMs;
    this.#flush = flush;
  }

  touch(key: K): void {
    const state = this.#busy.get(key);
    if (state) {
      state.dirty = true;
      return;
    }
    this.#run(key);
  }

  /** Keys waiting for or inside their interval (for tests and metrics). */
  get size(): number {
    return this.#busy.size;
  }

  #run(key: K): void {
    const state = { dirty: false };
    this.#busy.set(key, state);
    const interval = new Promise<void>((resolve) => setTimeout(resolve, this.#intervalMs).unref());
    const flushed = Promise.resolve()
      .then(() => this.#flush(key))
      .catch(() => undefined); // the flusher reports its own failures; the next touch retries
    void Promise.all([interval, flushed]).then(() => {
      this.#busy.delete(key);
      if (state.dirty) this.#run(key);
    });
  }
}
