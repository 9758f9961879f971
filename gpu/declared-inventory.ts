/**
 * A DECLARED device inventory: on machines without a GPU (CI, laptops) it stands in for nvidia-smi discovery so that
 * GPU routing and memory admission can be exercised. It declares devices; it does not make them exist: compute still
 * runs on the best backend actually available, and every such device carries source: 'declared'.
 *
 *   KILN_DECLARED_GPUS='[{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":8192}]'
 *   KILN_DECLARED_GPUS=@/path/to/gpus.json      (the same JSON in a file)
 *
 * Entry fields: name (required), memoryTotalMb (required, positive integer), and optionally index (default: the
 * entry's position), uuid (default `declared-<index>`), gpuClass (default gpuClassOf(name)), memoryUsedMb,
 * utilizationPct, temperatureC. Unknown fields are rejected, so a typo cannot silently declare a different device.
 */
import * as fs from 'node:fs';
import { CommandRunner, DiscoveredDevice, DiscoveryLogger, discoverDevices } from './discovery';
import { gpuClassOf, isGpuClass } from './gpu-class';

export const DECLARED_GPUS_ENV = 'KILN_DECLARED_GPUS';

const ENTRY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memoryTotalMb',
  'memoryUsedMb',
  'utilizationPct',
  'temperatureC',
  'gpuClass',
] as const;

export class DeclaredInventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeclaredInventoryError';
  }
}

function fail(where: string, message: string): never {
  throw new DeclaredInventoryError(`${where}: ${message}`);
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

function optionalNonNegative(
  where: string,
  entry: Record<string, unknown>,
  field: string,
  max = Infinity,
): number | undefined {
  const value = entry[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
    fail(where, `${field} must be a number in [0, ${max === Infinity ? '∞' : max}], got ${describe(value)}`);
  return value;
}

/**
 * Validates a parsed declaration (an array of entries) into devices with source 'declared'. `origin` names where it
 * came from in error messages (the env var, and the file for the @path form).
 */
export function parseDeclaredInventory(value: unknown, origin = DECLARED_GPUS_ENV): DiscoveredDevice[] {
  if (!Array.isArray(value))
    fail(
      origin,
      `expected a JSON array of devices like [{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":81559}], got ${describe(value)}`,
    );
  const devices = value.map((raw: unknown, position): DiscoveredDevice => {
    const where = `${origin}[${position}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(where, `expected an object, got ${describe(raw)}`);
    const entry = raw as Record<string, unknown>;
    const unknown = Object.keys(entry).filter((key) => !(ENTRY_FIELDS as readonly string[]).includes(key));
    if (unknown.length > 0) fail(where, `unknown field(s) ${unknown.join(', ')}; allowed: ${ENTRY_FIELDS.join(', ')}`);
    if (typeof entry.name !== 'string' || entry.name.trim() === '')
      fail(where, `name must be a non-empty string, got ${describe(entry.name)}`);
    const name = entry.name.trim();
    if (typeof entry.memoryTotalMb !== 'number' || !Number.isInteger(entry.memoryTotalMb) || entry.memoryTotalMb <= 0)
      fail(where, `memoryTotalMb must be a positive integer (MiB), got ${describe(entry.memoryTotalMb)}`);
    let index = position;
    if (entry.index !== undefined) {
      if (typeof entry.index !== 'number' || !Number.isInteger(entry.index) || entry.index < 0)
        fail(where, `index must be a non-negative integer, got ${describe(entry.index)}`);
      index = entry.index;
    }
    let uuid = `declared-${index}`;
    if (entry.uuid !== undefined) {
      if (typeof entry.uuid !== 'string' || entry.uuid.trim() === '')
        fail(where, `uuid must be a non-empty string, got ${describe(entry.uuid)}`);
      uuid = entry.uuid.trim();
    }
    let gpuClass = gpuClassOf(name);
    if (entry.gpuClass !== undefined) {
      if (typeof entry.gpuClass !== 'string' || !isGpuClass(entry.gpuClass))
        fail(where, `gpuClass must be lowercase [a-z0-9-] (at most 32 chars), got ${describe(entry.gpuClass)}`);
      gpuClass = entry.gpuClass;
    }
    const device: DiscoveredDevice = {
      index,
      uuid,
      name,
      memoryTotalMb: entry.memoryTotalMb,
      gpuClass,
      source: 'declared',
    };
    const memoryUsedMb = optionalNonNegative(where, entry, 'memoryUsedMb', entry.memoryTotalMb);
    const utilizationPct = optionalNonNegative(where, entry, 'utilizationPct', 100);
    const temperatureC = optionalNonNegative(where, entry, 'temperatureC');
    if (memoryUsedMb !== undefined) device.memoryUsedMb = memoryUsedMb;
    if (utilizationPct !== undefined) device.utilizationPct = utilizationPct;
    if (temperatureC !== undefined) device.temperatureC = temperatureC;
    return device;
  });
  const seenIndex = new Map<number, number>();
  const seenUuid = new Map<string, number>();
  devices.forEach((device, position) => {
    const prior = seenIndex.get(device.index);
    if (prior !== undefined)
      fail(`${origin}[${position}]`, `index ${device.index} is already used by ${origin}[${prior}]`);
    seenIndex.set(device.index, position);
    const priorUuid = seenUuid.get(device.uuid);
    if (priorUuid !== undefined)
      fail(`${origin}[${position}]`, `uuid ${JSON.stringify(device.uuid)} is already used by ${origin}[${priorUuid}]`);
    seenUuid.set(device.uuid, position);
  });
  return devices;
}

/**
 * The declared devices from KILN_DECLARED_GPUS's value (`declared`, the configuration's `declaredGpus`), or undefined
 * when it is unset or blank. `[]` declares a machine with no GPUs. Throws DeclaredInventoryError (naming the env var,
 * the file and the entry) on anything malformed.
 */
export function readDeclaredInventory(
  declared: string | undefined,
  readFile: (path: string) => string = (path) => fs.readFileSync(path, 'utf8'),
): DiscoveredDevice[] | undefined {
  if (declared === undefined || declared.trim() === '') return undefined;
  let text = declared.trim();
  let origin = DECLARED_GPUS_ENV;
  if (text.startsWith('@')) {
    const file = text.slice(1).trim();
    if (file === '') fail(DECLARED_GPUS_ENV, 'expected a file path after "@"');
    origin = `${DECLARED_GPUS_ENV} (${file})`;
    try {
      text = readFile(file);
    } catch (err) {
      fail(origin, `cannot read the declaration file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    fail(
      origin,
      `is not valid JSON (${err instanceof Error ? err.message : String(err)}); expected e.g. [{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":81559}] or @/path/to/file.json`,
    );
  }
  return parseDeclaredInventory(parsed, origin);
}

export interface LoadDevicesOptions {
  /** KILN_DECLARED_GPUS's value (the configuration's `declaredGpus`); unset: discover with nvidia-smi. */
  declared?: string;
  /** Runs nvidia-smi when no declaration is set (discoverDevices's runner). */
  run?: CommandRunner;
  readFile?: (path: string) => string;
  log?: DiscoveryLogger;
}

/** The declared devices when KILN_DECLARED_GPUS is set (source 'declared'), otherwise what nvidia-smi discovers. */
export async function loadDevices(options: LoadDevicesOptions = {}): Promise<DiscoveredDevice[]> {
  const declared = readDeclaredInventory(options.declared, options.readFile);
  if (declared !== undefined) return declared;
  return discoverDevices(options.run, { log: options.log });
}
