/**
 * Dataset size limits: the shape and defaults live in common/dataset-limits.ts (the configuration sets them from
 * KILN_MAX_*); re-exported here beside the message formatting that the readers use when they enforce them.
 */
export { DatasetLimits, DEFAULT_LIMITS } from '../common/dataset-limits';

/** `1234567` → `"1,234,567"`, for error messages. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `67108864` → `"67,108,864 bytes (64 MiB)"`, for error messages. */
export function formatBytes(n: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (n >= size) {
      const scaled = n / size;
      return `${formatCount(n)} bytes (${Number.isInteger(scaled) ? scaled : scaled.toFixed(1)} ${unit})`;
    }
  }
  return `${formatCount(n)} bytes`;
}
