/**
 * KILN_DECLARED_GPUS, read and checked: a declared device inventory (gpu/declared-inventory.ts turns it into devices)
 * for machines without a GPU, so that GPU routing and memory admission can be exercised. It lives below gpu/ so that
 * the configuration (common/config.ts) checks it when a process starts, before the launcher starts any server.
 *
 *   KILN_DECLARED_GPUS='[{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":8192}]'
 *   KILN_DECLARED_GPUS=@/path/to/gpus.json      (the same JSON in a file)
 *
 * Entry fields: name (required), memoryTotalMb (required, positive integer), and optionally index (default: the
 * entry's position), uuid (default `declared-<index>`), gpuClass (default: derived from the name by gpu/gpu-class.ts),
 * memoryUsedMb, utilizationPct, temperatureC. Unknown fields are rejected, so a typo cannot silently declare a
 * different device.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { GPU_CLASS_MAX_LENGTH, isGpuClass } from './gpu-class-name';

export const DECLARED_GPUS_ENV = 'KILN_DECLARED_GPUS';

/** One declared device, checked, with its index and uuid settled (gpuClass stays absent when not declared). */
export interface DeclaredGpu {
  index: number;
  uuid: string;
  name: string;
  /** MiB. */
  memoryTotalMb: number;
  gpuClass?: string;
  /** MiB, at most memoryTotalMb. */
  memoryUsedMb?: number;
  /** Percent, 0 to 100. */
  utilizationPct?: number;
  /** Degrees Celsius. */
  temperatureC?: number;
}

/** A malformed declaration; the message starts with where (the variable, its file, the entry) and says what is wrong. */
export class DeclaredInventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeclaredInventoryError';
  }
}

const EXAMPLE = '[{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":81559}]';

const ENTRY = z
  .strictObject({
    index: z.number().int().min(0).optional(),
    uuid: z.string().trim().min(1).optional(),
    name: z.string().trim().min(1),
    memoryTotalMb: z.number().int().positive(),
    memoryUsedMb: z.number().min(0).optional(),
    utilizationPct: z.number().min(0).max(100).optional(),
    temperatureC: z.number().min(0).optional(),
    gpuClass: z.string().refine(isGpuClass).optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.memoryUsedMb !== undefined && entry.memoryUsedMb > entry.memoryTotalMb)
      ctx.addIssue({ code: 'custom', path: ['memoryUsedMb'], message: '' });
  });

type EntryField = keyof z.input<typeof ENTRY>;

/** What each field must be, for messages (memoryUsedMb's upper bound is the entry's memoryTotalMb). */
function expected(field: EntryField, entry: Record<string, unknown>): string {
  switch (field) {
    case 'index':
      return 'a non-negative integer';
    case 'uuid':
    case 'name':
      return 'a non-empty string';
    case 'memoryTotalMb':
      return 'a positive integer (MiB)';
    case 'memoryUsedMb':
      return `a number in [0, ${typeof entry.memoryTotalMb === 'number' ? entry.memoryTotalMb : 'memoryTotalMb'}] (MiB)`;
    case 'utilizationPct':
      return 'a number in [0, 100]';
    case 'temperatureC':
      return 'a non-negative number (°C)';
    case 'gpuClass':
      return `lowercase [a-z0-9-] (at most ${GPU_CLASS_MAX_LENGTH} chars)`;
  }
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** One line for a zod issue of the declaration `value`, starting with where it is (`KILN_DECLARED_GPUS[1]: ...`). */
function problem(issue: z.core.$ZodIssue, value: unknown, origin: string): string {
  if (issue.path.length === 0)
    return `${origin}: expected a JSON array of devices like ${EXAMPLE}, got ${describe(value)}`;
  const position = Number(issue.path[0]);
  const where = `${origin}[${position}]`;
  const entry = (value as unknown[])[position];
  if (issue.path.length === 1) {
    if (issue.code === 'unrecognized_keys')
      return `${where}: unknown field(s) ${issue.keys.join(', ')}; allowed: ${Object.keys(ENTRY.shape).join(', ')}`;
    if (issue.code === 'custom') return `${where}: ${issue.message}`;
    return `${where}: expected an object, got ${describe(entry)}`;
  }
  const record = entry as Record<string, unknown>;
  const field = String(issue.path[1]) as EntryField;
  return `${where}: ${field} must be ${expected(field, record)}, got ${describe(record[field])}`;
}

/** The whole declaration: an array of entries whose indexes and uuids (given or defaulted) are all distinct. */
function declaration(origin: string) {
  return z.array(ENTRY).superRefine((entries, ctx) => {
    const seenIndex = new Map<number, number>();
    const seenUuid = new Map<string, number>();
    entries.forEach((entry, position) => {
      const index = entry.index ?? position;
      const uuid = entry.uuid ?? `declared-${index}`;
      const prior = seenIndex.get(index);
      if (prior === undefined) seenIndex.set(index, position);
      else
        ctx.addIssue({
          code: 'custom',
          path: [position],
          message: `index ${index} is already used by ${origin}[${prior}]`,
        });
      const priorUuid = seenUuid.get(uuid);
      if (priorUuid === undefined) seenUuid.set(uuid, position);
      else
        ctx.addIssue({
          code: 'custom',
          path: [position],
          message: `uuid ${JSON.stringify(uuid)} is already used by ${origin}[${priorUuid}]`,
        });
    });
  });
}

/**
 * Checks a parsed declaration (an array of entries) and settles each entry's index and uuid. `origin` names where it
 * came from in messages (the variable, and the file for the @path form). Throws DeclaredInventoryError listing every
 * problem (`; `-separated), each starting with its place, e.g. `KILN_DECLARED_GPUS[1]: memoryTotalMb must be ...`.
 */
export function checkDeclaredGpus(value: unknown, origin = DECLARED_GPUS_ENV): DeclaredGpu[] {
  const result = declaration(origin).safeParse(value);
  if (!result.success) {
    // A field can break several checks (-1.5 is neither an integer nor positive): its line is said once.
    const problems = new Set(result.error.issues.map((issue) => problem(issue, value, origin)));
    throw new DeclaredInventoryError([...problems].join('; '));
  }
  return result.data.map((entry, position) => {
    const index = entry.index ?? position;
    const device: DeclaredGpu = {
      index,
      uuid: entry.uuid ?? `declared-${index}`,
      name: entry.name,
      memoryTotalMb: entry.memoryTotalMb,
    };
    if (entry.gpuClass !== undefined) device.gpuClass = entry.gpuClass;
    if (entry.memoryUsedMb !== undefined) device.memoryUsedMb = entry.memoryUsedMb;
    if (entry.utilizationPct !== undefined) device.utilizationPct = entry.utilizationPct;
    if (entry.temperatureC !== undefined) device.temperatureC = entry.temperatureC;
    return device;
  });
}

/**
 * The declared devices from KILN_DECLARED_GPUS's value (inline JSON, or `@file` read with `readFile`), or undefined
 * when it is unset or blank. `[]` declares a machine with no GPUs. Throws DeclaredInventoryError (naming the variable,
 * the file and the entry) on an unreadable file, invalid JSON or a malformed entry.
 */
export function readDeclaredGpus(
  declared: string | undefined,
  readFile: (path: string) => string = (path) => fs.readFileSync(path, 'utf8'),
): DeclaredGpu[] | undefined {
  if (declared === undefined || declared.trim() === '') return undefined;
  let text = declared.trim();
  let origin = DECLARED_GPUS_ENV;
  if (text.startsWith('@')) {
    const file = text.slice(1).trim();
    if (file === '') throw new DeclaredInventoryError(`${DECLARED_GPUS_ENV}: expected a file path after "@"`);
    origin = `${DECLARED_GPUS_ENV} (${file})`;
    try {
      text = readFile(file);
    } catch (err) {
      throw new DeclaredInventoryError(
        `${origin}: cannot read the declaration file: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DeclaredInventoryError(
      `${origin}: is not valid JSON (${err instanceof Error ? err.message : String(err)}); ` +
        `expected e.g. ${EXAMPLE} or @/path/to/file.json`,
    );
  }
  return checkDeclaredGpus(parsed, origin);
}
