// Shared test helpers.
import { expect } from "chai";

/** Awaits `promise`, asserting it rejects with an instance of `type` whose message matches `pattern`. */
export async function expectRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, pattern?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  if (pattern) expect((caught as Error).message).to.match(pattern);
  return caught as Error;
}
