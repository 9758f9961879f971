import { createKilnWorker } from '../../workers/create-worker';
import { TestStack } from './test-stack';

/** Runs fn while a real Kiln CPU worker polls the test server (Worker.runUntil shuts it down afterwards). */
export async function withWorker<T>(stack: TestStack, fn: () => Promise<T>): Promise<T> {
  const worker = await createKilnWorker({
    connection: stack.env.nativeConnection,
    namespace: stack.env.namespace ?? 'default',
    pool: stack.pool,
    workerPool: 'cpu',
    workflowBundle: stack.workflowBundle,
  });
  return worker.runUntil(fn);
}
