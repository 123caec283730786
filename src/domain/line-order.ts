/**
 * The order of a line's early joiners (API.md, "Fair access", rule 1): a keyed
 * permutation of the join numbers [0, n), evaluated one element at a time in both
 * directions, so that a million early joiners need no million writes and no sort at
 * the start, and "who is at place k" is one evaluation.
 *
 * The permutation (ALGORITHM): a balanced Feistel network of 8 rounds over the
 * smallest even number of bits b with 2^b ≥ n (at least 2), each round's function the
 * first 4 bytes (big-endian) of HMAC-SHA256(seed, [round, x as 8 bytes big-endian])
 * masked to b/2 bits; values ≥ n walk the cycle (apply again) until they fall in
 * [0, n). Places count from 1: place(j) = P(j) + 1. Anyone holding the published
 * seed can recompute every place (README, "Fair access": a dozen lines of Node).
 */
import { createHmac } from "node:crypto";

export const ALGORITHM = "feistel8-hmac-sha256-cyclewalk";
const ROUNDS = 8;
/** join numbers are INCR results: far below this */
export const MAX_EARLY_JOINERS = 2 ** 48;

export class LineOrder {
  readonly #seed: Buffer;
  readonly #n: number;
  readonly #half: number;
  readonly #mask: number;

  /** `seed`: the line's 32 secret bytes; `n`: its early joiners. */
  constructor(seed: Buffer, n: number) {
    if (seed.length !== 32) throw new RangeError(`a line's seed is 32 bytes, got ${seed.length}`);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_EARLY_JOINERS) throw new RangeError(`early joiners must be an integer in [0, 2^48], got ${n}`);
    this.#seed = seed;
    this.#n = n;
    let bits = 2;
    while (2 ** bits < n) bits += 2;
    this.#half = bits / 2;
    this.#mask = 2 ** this.#half - 1;
  }

  get size(): number {
    return this.#n;
  }

  /** The place (1 = first) of early joiner `join`. */
  place(join: number): number {
    this.#check(join);
    let x = join;
    do x = this.#encrypt(x);
    while (x >= this.#n);
    return x + 1;
  }

  /** The join number of the early joiner at `place` (1-based): place's inverse. */
  joinAt(place: number): number {
    this.#check(place - 1);
    let x = place - 1;
    do x = this.#decrypt(x);
    while (x >= this.#n);
    return x;
  }

  #check(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.#n) throw new RangeError(`${i} is not in [0, ${this.#n})`);
  }

  #round(r: number, x: number): number {
    const msg = Buffer.alloc(9);
    msg[0] = r;
    msg.writeBigUInt64BE(BigInt(x), 1);
    return createHmac("sha256", this.#seed).update(msg).digest().readUInt32BE(0) & this.#mask;
  }

  // Halves of up to 24 bits: products and shifts by multiplication stay exact in a double.
  #encrypt(x: number): number {
    const size = this.#mask + 1;
    let l = Math.floor(x / size);
    let r = x % size;
    for (let i = 0; i < ROUNDS; i++) [l, r] = [r, (l ^ this.#round(i, r)) >>> 0];
    return l * size + r;
  }

  #decrypt(x: number): number {
    const size = this.#mask + 1;
    let l = Math.floor(x / size);
    let r = x % size;
    for (let i = ROUNDS - 1; i >= 0; i--) [l, r] = [(r ^ this.#round(i, l)) >>> 0, l];
    return l * size + r;
  }
}
