import { UnprocessableError } from '../../common/errors';
import type { Pool } from 'pg';
import type { ComputeRoute } from '../../common/jobs';
import { TASK_QUEUES } from '../../common/task-queues';
import { OnlineGpu, onlineGpus } from '../../db/gpus';
import { gpuClassQueue, gpuFitQueue } from '../../gpu/gpu-class';

/** A GPU worker counts as online when its telemetry is at most this old (it records every 5 s by default). */
export const GPU_WORKER_FRESH_SECONDS = 30;

/** What a request says about where it runs (api/schemas/common.ts `resources`). */
export interface ResourcesRequest {
  accelerator?: 'cpu' | 'gpu' | 'any';
  gpuClass?: string;
  gpuMemoryMb?: number;
  memoryMb?: number;
}

/**
 * Where a job goes: its workflow's task queue, the queue its compute goes to first, its compute route and its memory
 * need. Every workflow runs on the CPU pool, which only orchestrates; the compute activity alone is routed to a GPU
 * queue. So a job waiting for a GPU that never comes can still be cancelled (its workflow task has a worker), and
 * registration never takes a GPU worker's slot.
 */
export interface ComputePlacement {
  taskQueue: string;
  /** The compute activity's first queue: a GPU queue for `gpu`, and for `any` with a device online; else the CPU pool. */
  computeQueue: string;
  route?: ComputeRoute;
  gpuMemoryMb: number;
  gpuMemoryEstimated: boolean;
  /** For the job's memo (GET /api/v1/jobs/:id shows it). */
  memo: Record<string, unknown>;
}

/**
 * The GPU queue for a job needing `needMb` among the online devices (smallest budget first): the shared queue (or the
 * class queue) when every device can hold it, otherwise the class-and-budget queue of the smallest device that can,
 * so no device too small for the job ever takes it from a shared queue and waits forever.
 */
function gpuQueueFor(devices: OnlineGpu[], needMb: number, gpuClass: string | undefined): string {
  const shared = gpuClass ? gpuClassQueue(gpuClass) : TASK_QUEUES.gpu;
  if (devices.every((d) => d.budgetMb >= needMb)) return shared;
  const fit = devices.find((d) => d.budgetMb >= needMb);
  return fit ? gpuFitQueue(fit.gpuClass ?? 'unknown', fit.budgetMb) : shared;
}

/**
 * Decides where a job runs from its resources and its memory need (requested gpuMemoryMb, else `estimateMb()`):
 * - `cpu`: the CPU pool.
 * - `gpu` (+ gpuClass): a GPU queue, waiting there for a worker; never falls back. A need above every online device's
 *   budget is an UnprocessableError (exceeds_gpu_memory) naming the largest budget (with no device online the job waits: one may come).
 * - `any` (the default): GPU first, with the fallback bound, when a device that can hold it is online; else the CPU
 *   pool at once.
 */
export async function placeCompute(
  { pool, gpuFallbackSeconds }: { pool: Pool; gpuFallbackSeconds: number },
  resources: ResourcesRequest | undefined,
  estimateMb: () => number,
): Promise<ComputePlacement> {
  const accelerator = resources?.accelerator ?? 'any';
  const gpuClass = resources?.gpuClass;
  const gpuMemoryMb = resources?.gpuMemoryMb ?? estimateMb();
  const gpuMemoryEstimated = resources?.gpuMemoryMb === undefined;
  const placed = (route?: ComputeRoute): ComputePlacement => {
    const computeQueue = route?.taskQueue ?? TASK_QUEUES.cpu;
    return {
      taskQueue: TASK_QUEUES.cpu,
      computeQueue,
      ...(route ? { route } : {}),
      gpuMemoryMb,
      gpuMemoryEstimated,
      memo: { accelerator, ...(resources ?? {}), gpuMemoryMb, gpuMemoryEstimated, computeQueue },
    };
  };
  if (accelerator === 'cpu') return placed();
  const devices = await onlineGpus(pool, gpuClass, GPU_WORKER_FRESH_SECONDS);
  const largest = devices.length > 0 ? devices[devices.length - 1].budgetMb : undefined;
  if (accelerator === 'gpu') {
    if (largest !== undefined && gpuMemoryMb > largest) {
      throw new UnprocessableError(
        `the job needs ${gpuMemoryMb} MiB of GPU memory${gpuMemoryEstimated ? ' (estimated)' : ''}; the largest online ` +
          `${gpuClass ? `${gpuClass} ` : ''}device has ${largest} MiB`,
        'resources.gpuMemoryMb',
        'exceeds_gpu_memory',
      );
    }
    return placed({ taskQueue: gpuQueueFor(devices, gpuMemoryMb, gpuClass) });
  }
  if (largest === undefined || gpuMemoryMb > largest) return placed();
  return placed({
    taskQueue: gpuQueueFor(devices, gpuMemoryMb, gpuClass),
    fallback: { taskQueue: TASK_QUEUES.cpu, afterSeconds: gpuFallbackSeconds },
  });
}
