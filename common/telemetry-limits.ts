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
  /**
   * Uploads one API process reads at once (KILN_MAX_CONCURRENT_TELEMETRY_UPLOADS): each holds a pool connection in a
   * transaction while its body streams in, so past this many the next is refused (429) and the pool stays free for
   * the other routes.
   */
  maxConcurrentUploads: number;
  /** Milliseconds an upload's body may send nothing before it is refused (408) and its transaction rolled back. */
  idleTimeoutMs: number;
}

/**
 * The defaults: 256 MiB and 2,000,000 rows, about a day of a DCGM exporter's default counters on an 8-GPU node scraped
 * every 15 s (8 GPUs × 20 fields × 5,760 scrapes = 921,600 rows of 200–300 bytes), twice over. Two uploads at once
 * (of the pool's 10 connections by default), and 30 s without a byte.
 */
export const DEFAULT_TELEMETRY_LIMITS: Readonly<TelemetryLimits> = Object.freeze({
  maxBodyBytes: 256 * 1024 * 1024,
  maxRows: 2_000_000,
  maxConcurrentUploads: 2,
  idleTimeoutMs: 30_000,
});
