import { stopTestStack } from './test-stack';

/** Mocha root hooks (.mocharc.json `require`): the shared servers stop once, after every suite. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestStack();
  },
};
