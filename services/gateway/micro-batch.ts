/**
 * Micro-batching by key: items added for one key in the same turn of the event loop
 * (or up to `max` of them) are handed to `run` together, and each caller gets its own
 * result back. The order route sends the reservations of one product that it received
 * together as one call (inventory.reserveMany), which the inventory applies in one Lua
 * call (reserveBatch-8.lua).
 *
 * The flush runs on `setImmediate`: after the I/O callbacks of this loop turn, so every
 * request parsed from the same socket reads joins the batch, and a lone request waits
 * for nothing but the end of the current turn.
 */
export class MicroBatcher<K, I, O> {
  readonly #pending = new Map<K, Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }>>();
  readonly #run: (key: K, items: I[]) => Promise<O[]>;
  readonly #max: number;
  #scheduled = false;

  constructor(run: (key: K, items: I[]) => Promise<O[]>, max: number) {
    this.#run = run;
    this.#max = Math.max(1, max);
  }

  add(key: K, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let queue = this.#pending.get(key);
      if (!queue) {
        queue = [];
        this.#pending.set(key, queue);
      }
      queue.push({ item, resolve, reject });
      if (queue.length >= this.#max) {
        this.#pending.delete(key);
        this.#flush(key, queue);
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flushAll());
      }
    });
  }

  #flushAll(): void {
    this.#scheduled = false;
    const all = [...this.#pending];
    this.#pending.clear();
    for (const [key, queue] of all) this.#flush(key, queue);
  }

  #flush(key: K, queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }>): void {
    this.#run(key, queue.map((q) => q.item)).then(
      (results) => {
        if (results.length !== queue.length) {
          const err = new Error(`micro-batch: ${results.length} results for ${queue.length} items`);
          for (const q of queue) q.reject(err);
          return;
        }
        for (let i = 0; i < queue.length; i++) queue[i].resolve(results[i]);
      },
      (err: unknown) => {
        for (const q of queue) q.reject(err);
      },
    );
  }
}
