/** Task-queue names, one per worker pool. Workers listen on these; the API routes jobs to them. */
export const TASK_QUEUES = {
  cpu: 'kiln-cpu',
  gpu: 'kiln-gpu',
} as const;

export type PoolName = keyof typeof TASK_QUEUES;

export function isPoolName(value: string): value is PoolName {
  return Object.prototype.hasOwnProperty.call(TASK_QUEUES, value);
}

// How long an `any` job waits for a GPU worker is configuration (KILN_GPU_FALLBACK_SECONDS, common/config.ts).
// Which queue a job goes to (GPU class and memory-fit queues included) is decided at the API edge:
// api/services/compute-placement.ts.
