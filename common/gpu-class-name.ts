/**
 * What a GPU class name may look like (gpu/gpu-class.ts derives them from device names; KILN_DECLARED_GPUS may state
 * one): lowercase [a-z0-9] words joined by single '-', 1 to GPU_CLASS_MAX_LENGTH characters, so that every class makes
 * a valid task-queue suffix. Here, below gpu/, so that the configuration can check a declared class when it loads.
 */

/** Longest class name: unknown models become a slug of their name cut to this many characters. */
export const GPU_CLASS_MAX_LENGTH = 32;

/** Whether `value` is a usable class name (what gpuClassOf returns: lowercase [a-z0-9-], 1–32 chars). */
export function isGpuClass(value: string): boolean {
  return value.length >= 1 && value.length <= GPU_CLASS_MAX_LENGTH && /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(value);
}
