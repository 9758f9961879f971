import { Worker } from '@temporalio/worker';
import { createKilnWorker, KilnWorkerOptions } from '../../workers/create-worker';
import { TestStack } from './test-stack';

/** What a test chooses about a worker; the connection, namespace, database and workflow bundle come from the stack. */
export type TestWorkerOptions = Partial<Pick<KilnWorkerOptions, 'workerPool' | 'taskQueue' | 'device' | 'admission'>>;

/** A real Kiln worker on the test stack: the CPU pool on kiln-cpu unless told otherwise (a GPU pool, a queue, a device). */
export function createTestWorker(stack: TestStack, options: TestWorkerOptions = {}): Promise<Worker> {
  return createKilnWorker({
    connection: stack.env.nativeConnection,
    namespace: stack.env.namespace ?? 'default',
    pool: stack.pool,
    workerPool: 'cpu',
    workflowBundle: stack.workflowBundle,
    ...options,
  });
}

/** Runs fn while a real Kiln CPU worker polls the test server (Worker.runUntil shuts it down afterwards). */
export async function withWorker<T>(stack: TestStack, fn: () => Promise<T>): Promise<T> {
  const worker = await createTestWorker(stack);
  return worker.runUntil(fn);
}
