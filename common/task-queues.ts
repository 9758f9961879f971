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

/** Seconds an `any` job waits for a GPU worker before running on the CPU pool (KILN_GPU_FALLBACK_SECONDS). */
export function gpuFallbackSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.KILN_GPU_FALLBACK_SECONDS ?? 30);
  return Number.isFinite(value) && value > 0 ? value : 30;
}

function gpuQueue(gpuClass?: string): string {
  return gpuClass ? `${TASK_QUEUES.gpu}-${gpuClass}` : TASK_QUEUES.gpu;
}

/**
 * The task queue a job's workflow goes to. `gpu` waits for a GPU worker (of `gpuClass` when given) and never falls
 * back; `cpu` and `any` are orchestrated on the CPU pool (an `any` job's compute is routed, see computeRouteFor).
 */
export function queueFor(resources: ResourceRequest | undefined): string {
  return resources?.accelerator === 'gpu' ? gpuQueue(resources.gpuClass) : TASK_QUEUES.cpu;
}

/** `any` (the default): the compute tries the GPU pool first and falls back to the CPU pool after a bound. */
export function computeRouteFor(resources: ResourceRequest | undefined, env: NodeJS.ProcessEnv = process.env) {
  const accelerator = resources?.accelerator ?? 'any';
  if (accelerator !== 'any') return undefined;
  return { taskQueue: gpuQueue(resources?.gpuClass), fallback: { taskQueue: TASK_QUEUES.cpu, afterSeconds: gpuFallbackSeconds(env) } };
}
