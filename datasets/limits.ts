import { positiveIntegersFromEnv } from '../common/env-integers';

/**
 * Explicit size limits for datasets, checked while a dataset is read so that an oversized upload is refused as soon as
 * it crosses one (PayloadTooLargeError), never buffered first.
 */

export interface DatasetLimits {
  /** Bytes of request body read before giving up (KILN_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Data rows in one table, not counting a CSV header (KILN_MAX_ROWS). */
  maxRows: number;
  /** Columns in one table (KILN_MAX_COLUMNS). */
  maxColumns: number;
  /** rows × columns (KILN_MAX_CELLS). */
  maxCells: number;
  /** Distinct strings in one string (categorical) column (KILN_MAX_LEVELS). */
  maxLevels: number;
}

/**
 * The defaults: 64 MiB of body, 1,000,000 rows, 1,024 columns, 10,000,000 cells (80 MB of float64), and 100,000
 * distinct strings per column.
 */
export const DEFAULT_LIMITS: Readonly<DatasetLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024 * 1024,
  maxRows: 1_000_000,
  maxColumns: 1_024,
  maxCells: 10_000_000,
  maxLevels: 100_000,
});

/** The environment variable that overrides each limit. */
export const LIMIT_ENV_VARS: Readonly<Record<keyof DatasetLimits, string>> = Object.freeze({
  maxBodyBytes: 'KILN_MAX_BODY_BYTES',
  maxRows: 'KILN_MAX_ROWS',
  maxColumns: 'KILN_MAX_COLUMNS',
  maxCells: 'KILN_MAX_CELLS',
  maxLevels: 'KILN_MAX_LEVELS',
});

/**
 * The limits, each taken from its environment variable (a positive integer of decimal digits; `_` separators
 * allowed, e.g. `1_000_000`) or else its default. A malformed value is a configuration error: it throws a plain Error
 * naming the variable, so the process fails at startup instead of running with a limit nobody meant.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): DatasetLimits {
  return positiveIntegersFromEnv(DEFAULT_LIMITS, LIMIT_ENV_VARS, env);
}

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
