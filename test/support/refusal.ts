/**
 * The message of the refusal `attempt` ends in, after checking it is of `kind`: for
 * tests whose every case is "refused, saying why". Fails if the attempt succeeds.
 */
export async function refusalOf(attempt: Promise<unknown>, kind: new (...args: never[]) => Error): Promise<string> {
  try {
    await attempt;
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return (err as Error).message;
  }
  throw new Error(`accepted where a ${kind.name} was expected`);
}
