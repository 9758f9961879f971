import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../common/config';
import { applyComputeConfig } from '../../ml/compute-config';
import { stopTestStack } from './test-stack';

// The test process is an entry point too: KILN_BACKEND / KILN_KMEANS_THREADS apply to the compute the tests run here.
applyComputeConfig(loadConfig(process.env).compute);

// Workers log every state change at INFO; in tests only warnings and errors are worth reading.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** Mocha root hooks (.mocharc.json `require`): the shared servers stop once, after every suite. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestStack();
  },
};
