/**
 * A DECLARED device inventory: on machines without a GPU (CI, laptops) it stands in for nvidia-smi discovery so that
 * GPU routing and memory admission can be exercised. It declares devices; it does not make them exist: compute still
 * runs on the best backend actually available, and every such device carries source: 'declared'.
 *
 * The declaration (KILN_DECLARED_GPUS: JSON or `@file`) is read and checked by common/declared-gpus.ts, which the
 * configuration runs when a process starts; this file turns its entries into devices (a class from the name where
 * none is declared).
 */
import {
  checkDeclaredGpus,
  DECLARED_GPUS_ENV,
  DeclaredGpu,
  DeclaredInventoryError,
  readDeclaredGpus,
} from '../common/declared-gpus';
import { CommandRunner, DiscoveredDevice, DiscoveryLogger, discoverDevices } from './discovery';
import { gpuClassOf } from './gpu-class';

export { DECLARED_GPUS_ENV, DeclaredInventoryError };

/** A checked declared entry as a device: source 'declared', its class as declared or derived from its name. */
function toDevice(entry: DeclaredGpu): DiscoveredDevice {
  const { gpuClass, ...rest } = entry;
  return { ...rest, gpuClass: gpuClass ?? gpuClassOf(entry.name), source: 'declared' };
}

/**
 * Validates a parsed declaration (an array of entries) into devices with source 'declared'. `origin` names where it
 * came from in error messages (the env var, and the file for the @path form). Throws DeclaredInventoryError.
 */
export function parseDeclaredInventory(value: unknown, origin = DECLARED_GPUS_ENV): DiscoveredDevice[] {
  return checkDeclaredGpus(value, origin).map(toDevice);
}

/**
 * The declared devices from KILN_DECLARED_GPUS's value (`declared`, the configuration's `declaredGpus`), or undefined
 * when it is unset or blank. `[]` declares a machine with no GPUs. Throws DeclaredInventoryError (naming the env var,
 * the file and the entry) on anything malformed.
 */
export function readDeclaredInventory(
  declared: string | undefined,
  readFile?: (path: string) => string,
): DiscoveredDevice[] | undefined {
  return readDeclaredGpus(declared, readFile)?.map(toDevice);
}

export interface LoadDevicesOptions {
  /**
   * The declaration: the configuration's `declaredDevices` (checked when it loaded), or KILN_DECLARED_GPUS's text
   * (`declaredGpus`), read and checked here; unset: discover with nvidia-smi.
   */
  declared?: string | readonly DeclaredGpu[];
  /** Runs nvidia-smi when no declaration is set (discoverDevices's runner). */
  run?: CommandRunner;
  readFile?: (path: string) => string;
  log?: DiscoveryLogger;
}

/** The declared devices when KILN_DECLARED_GPUS is set (source 'declared'), otherwise what nvidia-smi discovers. */
export async function loadDevices(options: LoadDevicesOptions = {}): Promise<DiscoveredDevice[]> {
  const declared =
    typeof options.declared === 'string' || options.declared === undefined
      ? readDeclaredInventory(options.declared, options.readFile)
      : options.declared.map(toDevice);
  if (declared !== undefined) return declared;
  return discoverDevices(options.run, { log: options.log });
}
