import { DefaultLogger, Runtime } from '@temporalio/worker';
import { stopTestStack } from './test-stack';

// Workers log every state change at INFO; in tests only warnings and errors are worth reading.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** Mocha root hooks (.mocharc.json `require`): the shared servers stop once, after every suite. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestStack();
  },
};
