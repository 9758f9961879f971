import { WorkerEnvConfig } from '../common/config';
import { parseFlags } from '../common/flags';
import { isPoolName, PoolName } from '../common/task-queues';

/**
 * How one worker process is configured: flags win over the environment (common/config.ts validated that already).
 *
 *   --pool cpu|gpu            KILN_POOL                   default cpu
 *   --device N                KILN_GPU_DEVICE             default 0 (GPU pool: the device index to pin to)
 *   --memory-budget-mb MB     KILN_GPU_MEMORY_BUDGET_MB   default the device's total memory (GPU pool)
 *   --concurrency N           KILN_WORKER_CONCURRENCY     default 2 on the CPU pool (tfjs compute is CPU-bound),
 *                                                          8 on a GPU worker (admission by memory is the real bound)
 *
 * Any other flag is an error that lists these (common/flags.ts).
 */
export interface WorkerFlags {
  pool: PoolName;
  device: number;
  memoryBudgetMb?: number;
  concurrency: number;
}

/** The worker's flags and the value each takes, as shown in messages. */
export const WORKER_FLAGS = {
  pool: 'cpu|gpu',
  device: 'N',
  'memory-budget-mb': 'MB',
  concurrency: 'N',
} as const;

export const DEFAULT_CONCURRENCY: Record<PoolName, number> = { cpu: 2, gpu: 8 };

function integerFlag(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/**
 * The worker's settings: `argv` (process.argv.slice(2)) over `env` (the configuration's worker settings). Throws on an
 * unknown flag or a malformed value, naming the flag.
 */
export function workerFlags(
  argv: string[],
  env: Pick<WorkerEnvConfig, 'pool' | 'device' | 'memoryBudgetMb' | 'concurrency'>,
): WorkerFlags {
  const flags = parseFlags(argv, WORKER_FLAGS);
  const pool = flags.pool ?? env.pool;
  if (!isPoolName(pool)) throw new Error(`unknown pool ${JSON.stringify(pool)}: use cpu or gpu`);
  const device = integerFlag('device', flags.device, true) ?? env.device;
  const memoryBudgetMb = integerFlag('memory-budget-mb', flags['memory-budget-mb']) ?? env.memoryBudgetMb;
  const concurrency = integerFlag('concurrency', flags.concurrency) ?? env.concurrency ?? DEFAULT_CONCURRENCY[pool];
  return { pool, device, ...(memoryBudgetMb !== undefined ? { memoryBudgetMb } : {}), concurrency };
}
