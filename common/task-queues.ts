/** Task-queue names, one per worker pool. Workers listen on these; the API routes jobs to them. */
export const TASK_QUEUES = {
  cpu: 'kiln-cpu',
  gpu: 'kiln-gpu',
} as const;

export type PoolName = keyof typeof TASK_QUEUES;

export function isPoolName(value: string): value is PoolName {
  return Object.prototype.hasOwnProperty.call(TASK_QUEUES, value);
}
