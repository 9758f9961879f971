import { flagValue, poolFromArgs } from '../common/config';
import { PoolName } from '../common/task-queues';

/**
 * How one worker process is configured: flags win over the environment.
 *
 *   --pool cpu|gpu            KILN_POOL                   default cpu
 *   --device N                KILN_GPU_DEVICE             default 0 (GPU pool: the device index to pin to)
 *   --memory-budget-mb MB     KILN_GPU_MEMORY_BUDGET_MB   default the device's total memory (GPU pool)
 *   --concurrency N           KILN_WORKER_CONCURRENCY     default 2 on the CPU pool (tfjs compute is CPU-bound),
 *                                                          8 on a GPU worker (admission by memory is the real bound)
 */
export interface WorkerFlags {
  pool: PoolName;
  device: number;
  memoryBudgetMb?: number;
  concurrency: number;
}

export const DEFAULT_CONCURRENCY: Record<PoolName, number> = { cpu: 2, gpu: 8 };

function positiveInteger(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export function workerFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerFlags {
  const pool = poolFromArgs(argv, env);
  const device = positiveInteger('device', flagValue(argv, 'device') ?? env.KILN_GPU_DEVICE, true) ?? 0;
  const memoryBudgetMb = positiveInteger(
    'memory-budget-mb',
    flagValue(argv, 'memory-budget-mb') ?? env.KILN_GPU_MEMORY_BUDGET_MB,
  );
  const concurrency =
    positiveInteger('concurrency', flagValue(argv, 'concurrency') ?? env.KILN_WORKER_CONCURRENCY) ??
    DEFAULT_CONCURRENCY[pool];
  return { pool, device, ...(memoryBudgetMb !== undefined ? { memoryBudgetMb } : {}), concurrency };
}
