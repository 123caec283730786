/**
 * The interleavings a looped race test names, counted as its rounds produce them: the
 * test proves each one happened (a race that always went one way proves only that way),
 * and a round that went a way not named fails it.
 */
export class Interleavings<Name extends string> {
  readonly counts: Record<Name, number>;

  constructor(names: readonly Name[]) {
    this.counts = Object.fromEntries(names.map((n) => [n, 0])) as Record<Name, number>;
  }

  /** Counts one round that went as `name`; a name the test did not give fails the test. */
  saw(name: string): void {
    expect(Object.keys(this.counts)).toContain(name);
    this.counts[name as Name]++;
  }

  /** Fails unless every named interleaving happened at least once (the counts are in the failure). */
  expectEachSeen(): void {
    const unseen = (Object.keys(this.counts) as Name[]).filter((n) => this.counts[n] === 0);
    expect({ unseen, counts: this.counts }).toEqual({ unseen: [], counts: this.counts });
  }
}

const after = <T>(ms: number, start: () => Promise<T>): Promise<T> =>
  ms === 0 ? start() : new Promise<void>((resolve) => setTimeout(resolve, ms)).then(start);

/**
 * Starts two racers with a head start that changes with the round, so that over the
 * rounds each side leaves first by every step of `headStartsMs` (0: together). Without
 * it a race between unequal paths (an HTTP call against a broker call, a cancel against
 * a writer already waiting on the lock) goes the same way every round; with it the race
 * window is swept, and the race, not the test, still decides each round. Round `round`
 * gives `a` the head start in its first len(headStartsMs) rounds, `b` in the next.
 */
export function staggered<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>, headStartsMs = [0, 3, 10, 25, 60]): Promise<[A, B]> {
  const step = headStartsMs[round % headStartsMs.length];
  const aFirst = Math.floor(round / headStartsMs.length) % 2 === 0;
  return Promise.all([after(aFirst ? 0 : step, a), after(aFirst ? step : 0, b)]);
}
