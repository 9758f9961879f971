/**
 * Byte limits of the JSON request bodies that are not datasets (uploads and inline clustering data are datasets:
 * DatasetLimits.maxBodyBytes). A body past its limit is a 413 as soon as the limit is crossed, never buffered whole.
 * In common/ because the configuration (common/config.ts) sets them from the environment; the API enforces them.
 */
export interface BodyLimits {
  /** POST /api/v1/training: a network spec and its settings (KILN_MAX_TRAINING_BODY_BYTES). */
  maxTrainingBodyBytes: number;
  /** POST /api/v1/models/:name/predict: up to 10,000 input rows inline (KILN_MAX_PREDICT_BODY_BYTES). */
  maxPredictBodyBytes: number;
  /** POST /api/v1/models/:name/batch-predict: a dataset id and options (KILN_MAX_BATCH_PREDICT_BODY_BYTES). */
  maxBatchPredictBodyBytes: number;
  /**
   * Model registry writes: descriptions and tags (KILN_MAX_REGISTRY_BODY_BYTES); also capped by
   * DatasetLimits.maxBodyBytes, the limit on any request body.
   */
  maxRegistryBodyBytes: number;
  /** POST /api/v1/pipelines/{validation,full} and a pipeline's decision (KILN_MAX_PIPELINE_BODY_BYTES). */
  maxPipelineBodyBytes: number;
}

/**
 * The defaults: 1 MiB for training, 8 MiB for online predict, 64 KiB for batch predict, 256 KiB for the registry, 1 MiB
 * for pipelines (a training body and its gate).
 */
export const DEFAULT_BODY_LIMITS: Readonly<BodyLimits> = Object.freeze({
  maxTrainingBodyBytes: 1024 * 1024,
  maxPredictBodyBytes: 8 * 1024 * 1024,
  maxBatchPredictBodyBytes: 64 * 1024,
  maxRegistryBodyBytes: 256 * 1024,
  maxPipelineBodyBytes: 1024 * 1024,
});

/** The environment variable that sets each limit (common/config.ts). */
export const BODY_LIMIT_ENV_VARS: Readonly<Record<keyof BodyLimits, string>> = Object.freeze({
  maxTrainingBodyBytes: 'KILN_MAX_TRAINING_BODY_BYTES',
  maxPredictBodyBytes: 'KILN_MAX_PREDICT_BODY_BYTES',
  maxBatchPredictBodyBytes: 'KILN_MAX_BATCH_PREDICT_BODY_BYTES',
  maxRegistryBodyBytes: 'KILN_MAX_REGISTRY_BODY_BYTES',
  maxPipelineBodyBytes: 'KILN_MAX_PIPELINE_BODY_BYTES',
});
