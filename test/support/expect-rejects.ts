import { expect } from 'chai';

/** Awaits a promise that must reject with an Error, then hands the error to check. */
export async function expectRejects(promise: Promise<unknown>, check: (err: Error) => void): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected the promise to reject').to.be.instanceOf(Error);
  check(caught as Error);
}
