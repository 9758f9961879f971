/**
 * Dynamic micro-batching of online predict (api/services/predict-batcher.ts): requests for one loaded model version
 * that arrive together are predicted in one call. A batch is run as soon as no other predict request is on its way
 * (admitted, its body or model still being read), when `windowMs` has passed since its first request, or when it holds
 * `maxRows` rows; a request is never split, and one with `maxRows` rows or more runs alone. In common/ because the
 * configuration (common/config.ts) sets it from the environment; the API applies it.
 */
export interface PredictBatching {
  /** KILN_PREDICT_BATCH_WINDOW_MS: the longest a request waits for others (0: those of the same event-loop turn). */
  windowMs: number;
  /** KILN_PREDICT_MAX_BATCH_ROWS: rows in one batch at most; 1 turns batching off (each request predicts alone). */
  maxRows: number;
}

/**
 * The defaults of KILN_PREDICT_BATCH_WINDOW_MS and KILN_PREDICT_MAX_BATCH_ROWS, from bench/predict-latency.ts: windows
 * of 1 to 5 ms did alike and 0 worse at concurrency 64; the wasm backend costs about the same per row from 64 to 512
 * rows and more per row past that, so larger batches only add waiting.
 */
export const DEFAULT_PREDICT_BATCHING: Readonly<PredictBatching> = Object.freeze({ windowMs: 1, maxRows: 256 });
