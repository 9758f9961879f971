import { WorkerEnvConfig } from '../common/config';
import { CommandHelp, FlagError, FlagSpec, parseFlags, ParseFlagsOptions } from '../common/flags';
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
 * Each flag may be given once; any other flag, a repeated one or a malformed value is a FlagError naming it
 * (common/flags.ts), and `--help` prints these.
 */
export interface WorkerFlags {
  pool: PoolName;
  device: number;
  memoryBudgetMb?: number;
  concurrency: number;
}

/** The worker's flags: the value each takes and what it means (messages and `--help`). */
export const WORKER_FLAGS = {
  pool: { value: 'cpu|gpu', help: 'the pool to serve: cpu polls kiln-cpu, gpu pins to one device (KILN_POOL; cpu)' },
  device: { value: 'N', help: 'GPU pool: the index of the device to pin to (KILN_GPU_DEVICE; 0)' },
  'memory-budget-mb': {
    value: 'MB',
    help: "GPU pool: device memory jobs may reserve, at most the device's (KILN_GPU_MEMORY_BUDGET_MB; all of it)",
  },
  concurrency: {
    value: 'N',
    help: 'activities run at once, a positive integer (KILN_WORKER_CONCURRENCY; 2 on cpu, 8 on gpu)',
  },
} as const satisfies FlagSpec;

/** What `npm run worker -- --help` says besides the flags. */
export const WORKER_COMMAND: CommandHelp = {
  usage: 'npm run worker --',
  summary:
    'One Kiln worker process for one pool. It needs DATABASE_URL and a Temporal server (TEMPORAL_ADDRESS, default ' +
    '127.0.0.1:7233).',
};

export const DEFAULT_CONCURRENCY: Record<PoolName, number> = { cpu: 2, gpu: 8 };

/** The flags given on the command line, checked; absent ones fall back to the environment (resolveWorkerFlags). */
export interface GivenWorkerFlags {
  pool?: PoolName;
  device?: number;
  memoryBudgetMb?: number;
  concurrency?: number;
}

function integerFlag(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new FlagError(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/**
 * The worker's flags from `argv` (process.argv.slice(2)), checked before the configuration loads, so that `--help`
 * and a flag mistake need no environment. Throws FlagError on an unknown or repeated flag or a malformed value, naming
 * the flag; `--help` prints the usage and exits 0 (options.onHelp).
 */
export function readWorkerFlags(argv: string[], options: ParseFlagsOptions = {}): GivenWorkerFlags {
  const flags = parseFlags(argv, WORKER_FLAGS, { command: WORKER_COMMAND, ...options });
  const given: GivenWorkerFlags = {};
  if (flags.pool !== undefined) {
    if (!isPoolName(flags.pool))
      throw new FlagError(`unknown pool ${JSON.stringify(flags.pool)} for --pool: use cpu or gpu`);
    given.pool = flags.pool;
  }
  const device = integerFlag('device', flags.device, true);
  const memoryBudgetMb = integerFlag('memory-budget-mb', flags['memory-budget-mb']);
  const concurrency = integerFlag('concurrency', flags.concurrency);
  if (device !== undefined) given.device = device;
  if (memoryBudgetMb !== undefined) given.memoryBudgetMb = memoryBudgetMb;
  if (concurrency !== undefined) given.concurrency = concurrency;
  return given;
}

/** The worker's settings: the flags given over `env` (the configuration's worker settings), then the defaults. */
export function resolveWorkerFlags(
  given: GivenWorkerFlags,
  env: Pick<WorkerEnvConfig, 'pool' | 'device' | 'memoryBudgetMb' | 'concurrency'>,
): WorkerFlags {
  const pool = given.pool ?? env.pool;
  const device = given.device ?? env.device;
  const memoryBudgetMb = given.memoryBudgetMb ?? env.memoryBudgetMb;
  const concurrency = given.concurrency ?? env.concurrency ?? DEFAULT_CONCURRENCY[pool];
  return { pool, device, ...(memoryBudgetMb !== undefined ? { memoryBudgetMb } : {}), concurrency };
}

/**
 * The worker's settings: `argv` (process.argv.slice(2)) over `env` (the configuration's worker settings). Throws
 * FlagError on an unknown or repeated flag or a malformed value, naming the flag.
 */
export function workerFlags(
  argv: string[],
  env: Pick<WorkerEnvConfig, 'pool' | 'device' | 'memoryBudgetMb' | 'concurrency'>,
): WorkerFlags {
  return resolveWorkerFlags(readWorkerFlags(argv), env);
}
