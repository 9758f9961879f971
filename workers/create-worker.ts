import { NativeConnection, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../activities';
import { Placement } from '../common/jobs';
import { PoolName, TASK_QUEUES } from '../common/task-queues';
import type { DeviceAdmission } from '../gpu/admission';
import { ActivityObserver, instrumentActivities } from './instrument-activities';

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
  /** Activities that compute at once without admission; tfjs work is CPU-bound, so a small number per process. */
  maxConcurrentActivities?: number;
  /**
   * A GPU device's admission by memory: its slot supplier decides when this worker takes an activity task, and the
   * compute activities hold their memory need against its budget. Shared by every Worker of the device.
   */
  admission?: DeviceAdmission;
  /** Test hook passed to the activities (ActivityDeps.evaluationDelayMs). */
  evaluationDelayMs?: number;
  /** Sees every activity's duration and outcome, and fallbacks (Prometheus). */
  observer?: ActivityObserver;
}

/** Workflow, local-activity and Nexus slots when a custom activity slot supplier is in use (the SDK needs all four). */
const FIXED_SLOTS = { type: 'fixed-size', numSlots: 16 } as const;

/** A Temporal worker for one pool: Kiln's workflows plus the activities, bound to the pool's task queue. */
export function createKilnWorker(opts: KilnWorkerOptions): Promise<Worker> {
  const activities = createActivities({
    pool: opts.pool,
    placement: { pool: opts.workerPool, ...(opts.device ? { device: opts.device } : {}) },
    ...(opts.admission ? { admission: opts.admission } : {}),
    ...(opts.evaluationDelayMs !== undefined ? { evaluationDelayMs: opts.evaluationDelayMs } : {}),
  });
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUES[opts.workerPool],
    workflowBundle: opts.workflowBundle,
    activities: opts.observer ? instrumentActivities(activities, opts.observer) : activities,
    ...(opts.admission
      ? {
          tuner: {
            activityTaskSlotSupplier: opts.admission.slotSupplier(),
            workflowTaskSlotSupplier: FIXED_SLOTS,
            localActivityTaskSlotSupplier: FIXED_SLOTS,
            nexusTaskSlotSupplier: FIXED_SLOTS,
          },
        }
      : {
          maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 2,
          // Small clustering jobs compute as local activities (workflows/clustering.ts): the same bound on them.
          maxConcurrentLocalActivityExecutions: opts.maxConcurrentActivities ?? 2,
        }),
    shutdownGraceTime: '10 seconds',
    // Heartbeats reach the server at least every 2 s (the default throttle is 80% of the heartbeat timeout), so
    // progress is fresh and a cancellation reaches a running computation within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}
