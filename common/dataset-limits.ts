/**
 * Explicit size limits for datasets, checked while a dataset is read so that an oversized upload is refused as soon as
 * it crosses one (413), never buffered first. In common/ because the configuration (common/config.ts) sets them from
 * the environment; datasets/limits.ts enforces them.
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

/**
 * Bytes a table's column names may take together, written as a JSON array (UTF-8, quotes and escapes included): 64
 * KiB, with the default 1,024 columns about 60 characters each. Not configurable: column names travel in job inputs
 * (training features, clustering columns, targets), which Temporal keeps in every job's history, and this bound keeps
 * any list of a table's columns well under the bound on a workflow start (api/services/jobs.ts
 * MAX_WORKFLOW_START_BYTES, 256 KiB). An upload past it is refused (413).
 */
export const MAX_COLUMN_NAMES_BYTES = 64 * 1024;
