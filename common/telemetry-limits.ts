/**
 * Limits of a GPU telemetry upload (POST /api/v1/gpus/telemetry), checked while the body streams in: the upload is
 * refused (413, nothing stored) at the first byte or row past one, never buffered first. In common/ because the
 * configuration (common/config.ts) sets them from the environment; gpu/dcgm-csv.ts enforces them. Independent of
 * KILN_MAX_BODY_BYTES (datasets): a day of scrapes is far larger than a dataset and is never held in memory.
 */
export interface TelemetryLimits {
  /** Bytes of CSV body read before giving up (KILN_MAX_TELEMETRY_BODY_BYTES). */
  maxBodyBytes: number;
  /** Data rows (samples), not counting the header (KILN_MAX_TELEMETRY_ROWS). */
  maxRows: number;
}

/**
 * The defaults: 256 MiB and 2,000,000 rows, about a day of a DCGM exporter's default counters on an 8-GPU node scraped
 * every 15 s (8 GPUs × 20 fields × 5,760 scrapes = 921,600 rows of 200–300 bytes), twice over.
 */
export const DEFAULT_TELEMETRY_LIMITS: Readonly<TelemetryLimits> = Object.freeze({
  maxBodyBytes: 256 * 1024 * 1024,
  maxRows: 2_000_000,
});
