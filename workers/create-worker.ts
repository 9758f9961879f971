import { NativeConnection, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../activities';
import { Placement } from '../common/jobs';
import { PoolName, TASK_QUEUES } from '../common/task-queues';

export interface KilnWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  pool: Pool;
  workerPool: PoolName;
  workflowBundle: WorkflowBundleWithSourceMap;
  /** Override the pool's task queue (tests give each suite its own). */
  taskQueue?: string;
  /** The device a GPU-pool worker is pinned to; recorded with every job it runs. */
  device?: Placement['device'];
  /** Activities that compute at once; tfjs work is CPU-bound, so a small number per process. */
  maxConcurrentActivities?: number;
}

/** A Temporal worker for one pool: Kiln's workflows plus the activities, bound to the pool's task queue. */
export function createKilnWorker(opts: KilnWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUES[opts.workerPool],
    workflowBundle: opts.workflowBundle,
    activities: createActivities({ pool: opts.pool, placement: { pool: opts.workerPool, ...(opts.device ? { device: opts.device } : {}) } }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 2,
    shutdownGraceTime: '10 seconds',
    // Heartbeats reach the server at least every 2 s (the default throttle is 80% of the heartbeat timeout), so
    // progress is fresh and a cancellation reaches a running computation within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}
