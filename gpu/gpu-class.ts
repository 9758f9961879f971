/**
 * GPU classes: short, stable names for a device model ('h100', 't4', ...), used to tag GPU worker pools. A GPU worker
 * listens on the shared GPU queue (TASK_QUEUES.gpu, any GPU will do) and on a class queue (`kiln-gpu-<class>`) for
 * requests that need one model in particular.
 */
import { GPU_CLASS_MAX_LENGTH, isGpuClass } from '../common/gpu-class-name';
import { TASK_QUEUES } from '../common/task-queues';

export { GPU_CLASS_MAX_LENGTH, isGpuClass };

/**
 * Known models, most specific first (an 'L40S' must not read as 'L4', an 'RTX 4090 D' is still an rtx4090). Matched
 * against the lowercased nvidia-smi name, e.g. 'NVIDIA H100 80GB HBM3', 'Tesla T4', 'NVIDIA GeForce RTX 4090'.
 */
const KNOWN_CLASSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bgh200\b/, 'gh200'],
  [/\bh200\b/, 'h200'],
  [/\bh100\b/, 'h100'],
  [/\bh800\b/, 'h800'],
  [/\ba100\b/, 'a100'],
  [/\ba800\b/, 'a800'],
  [/\ba10g\b/, 'a10g'],
  [/\ba10\b/, 'a10'],
  [/\bl40s\b/, 'l40s'],
  [/\bl40\b/, 'l40'],
  [/\bl4\b/, 'l4'],
  [/\bv100\b/, 'v100'],
  [/\bt4\b/, 't4'],
  [/\bp100\b/, 'p100'],
  [/\bk80\b/, 'k80'],
];

/** The class of a device from its model name; unknown models get slugOf(name). */
export function gpuClassOf(name: string): string {
  const lower = name.toLowerCase();
  for (const [pattern, gpuClass] of KNOWN_CLASSES) if (pattern.test(lower)) return gpuClass;
  // GeForce / workstation RTX cards: 'NVIDIA GeForce RTX 4090' → rtx4090, 'NVIDIA RTX A6000' → rtxa6000.
  const rtx = /\brtx\s*(a?\d{4})\b/.exec(lower);
  if (rtx) return `rtx${rtx[1]}`;
  return gpuClassSlug(name);
}

/** A queue-safe slug of a model name: lowercase [a-z0-9-], no leading/trailing/double '-', ≤ 32 chars; never empty. */
export function gpuClassSlug(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, GPU_CLASS_MAX_LENGTH)
    .replace(/-+$/, '');
  return slug || 'unknown';
}

/** The class-specific task queue, e.g. 'kiln-gpu-h100'. */
export function gpuClassQueue(gpuClass: string): string {
  if (!isGpuClass(gpuClass))
    throw new RangeError(
      `invalid GPU class ${JSON.stringify(gpuClass)}: expected lowercase [a-z0-9-], at most ${GPU_CLASS_MAX_LENGTH} chars`,
    );
  return `${TASK_QUEUES.gpu}-${gpuClass}`;
}

/** Whether a task queue belongs to the GPU pool: kiln-gpu, kiln-gpu-<class>, kiln-gpu-<class>-<budget>mb. */
export function isGpuQueue(name: string): boolean {
  return name === TASK_QUEUES.gpu || name.startsWith(`${TASK_QUEUES.gpu}-`);
}

/**
 * The queue of the devices of one class with one memory budget, e.g. 'kiln-gpu-a100-16384mb'. A job too large for some
 * online devices is routed here, to the smallest budget that holds it, so a device that could never admit it never
 * takes it.
 */
export function gpuFitQueue(gpuClass: string, budgetMb: number): string {
  if (!(Number.isInteger(budgetMb) && budgetMb > 0))
    throw new RangeError(`budgetMb must be a positive integer, got ${budgetMb}`);
  return `${gpuClassQueue(gpuClass)}-${budgetMb}mb`;
}

/**
 * The queues a worker on a device of this class listens on: the shared GPU queue, its class queue, and (given the
 * device's memory budget) its class-and-budget queue.
 */
export function gpuQueues(gpuClass: string, budgetMb?: number): string[] {
  return [
    TASK_QUEUES.gpu,
    gpuClassQueue(gpuClass),
    ...(budgetMb !== undefined ? [gpuFitQueue(gpuClass, budgetMb)] : []),
  ];
}
