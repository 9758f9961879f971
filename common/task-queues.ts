/** Task-queue names, one per worker pool. Workers listen on these; the API routes jobs to them. */
export const TASK_QUEUES = {
  cpu: 'kiln-cpu',
  gpu: 'kiln-gpu',
} as const;

export type PoolName = keyof typeof TASK_QUEUES;

export function isPoolName(value: string): value is PoolName {
  return Object.prototype.hasOwnProperty.call(TASK_QUEUES, value);
}

/** What a request may say about where it runs (validated at the API edge). */
export interface ResourceRequest {
  accelerator?: 'cpu' | 'gpu' | 'any';
  gpuClass?: string;
}

/**
 * The task queue a job goes to. `gpu` waits for a GPU worker (of `gpuClass` when given) and never falls back;
 * `any` and `cpu` go to the CPU pool for now (GPU-first with fallback is the next step of the GPU pools work).
 */
export function queueFor(resources: ResourceRequest | undefined): string {
  if (resources?.accelerator !== 'gpu') return TASK_QUEUES.cpu;
  return resources.gpuClass ? `${TASK_QUEUES.gpu}-${resources.gpuClass}` : TASK_QUEUES.gpu;
}
