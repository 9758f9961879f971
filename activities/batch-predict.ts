import { ApplicationFailure, Context } from '@temporalio/activity';
import { BatchPredictJobInput, BatchPredictResult } from '../common/jobs';
import { numericMatrix } from '../datasets/encode';
import { getArtifactContent, putArtifact } from '../db/artifacts';
import { loadDatasetTable } from '../db/datasets';
import { initComputeBackend } from '../ml/backend';
import { NonFinitePredictionError, loadPredictor } from '../ml/serving/predictor';
import { INVALID_JOB_INPUT, NON_FINITE_RESULT } from './errors';
import { estimateBatchPredictMemoryMb } from '../gpu/memory-estimate';
import { TRAINING_LIMITS } from '../ml/training/spec';
import { holdDeviceMemory, ranOn } from './gpu-admission';
import type { ActivityDeps } from './deps';
import { jobEventWriter } from './job-events';

/** Rows predicted between heartbeats (and abort checks). */
export const BATCH_PREDICT_CHUNK_ROWS = 10_000;

/** A non-finite prediction fails the job without retries: the same model and rows give the same NaN. */
function nonFiniteAsFailure(err: unknown): unknown {
  return err instanceof NonFinitePredictionError
    ? ApplicationFailure.nonRetryable(err.message, NON_FINITE_RESULT)
    : err;
}

export function createBatchPredictActivities({ pool, placement, admission }: ActivityDeps) {
  return {
    /**
     * Predicts the dataset in chunks, heartbeating rows done. A retry starts over: the result is content-addressed,
     * so a repeated run stores no second copy.
     */
    async predictDataset(input: BatchPredictJobInput): Promise<BatchPredictResult> {
      const ctx = Context.current();
      const started = Date.now();
      const backend = await initComputeBackend();
      const content = await getArtifactContent(pool, input.tenantId, input.artifactId);
      if (!content)
        throw ApplicationFailure.nonRetryable(`model artifact ${input.artifactId} is missing`, INVALID_JOB_INPUT);
      const loaded = await loadDatasetTable(pool, input.tenantId, input.datasetId);
      if (!loaded)
        throw ApplicationFailure.nonRetryable(`dataset ${input.datasetId} does not exist`, INVALID_JOB_INPUT);
      // A GPU worker admits the job by its device memory need before the model's weights reach the device.
      const need =
        input.gpuMemoryMb ??
        estimateBatchPredictMemoryMb({
          modelBytes: content.length,
          rows: loaded.table.rows,
          features: Math.max(1, loaded.table.columns.length),
          maxLayerUnits: TRAINING_LIMITS.maxUnits,
        });
      const hold = await holdDeviceMemory(admission, need);
      const predictor = await loadPredictor(input.flavor, content).catch((err: unknown) => {
        hold.release();
        throw nonFiniteAsFailure(err);
      });
      try {
        let matrix: ReturnType<typeof numericMatrix>;
        try {
          matrix = numericMatrix(loaded.table, predictor.columns);
        } catch (err) {
          throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_INPUT);
        }
        const { n, d, values } = matrix;
        const events = jobEventWriter(pool, ctx);
        const parts: Array<Record<string, unknown>> = [];
        for (let start = 0; start < n; start += BATCH_PREDICT_CHUNK_ROWS) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          const rows = Math.min(BATCH_PREDICT_CHUNK_ROWS, n - start);
          parts.push(
            await predictor.predict(values.subarray(start * d, (start + rows) * d), rows).catch((err: unknown) => {
              throw nonFiniteAsFailure(err);
            }),
          );
          ctx.heartbeat({ stage: 'predicting', rowsDone: start + rows, rows: n });
          // Chunks are fixed, so rows done names the report: a retry that starts over adds no second one.
          await events.append(
            'progress',
            { phase: 'predicting', done: start + rows, total: n },
            `progress:rows:${start + rows}`,
          );
        }
        // Concatenate the per-chunk arrays field by field (labels, probabilities, values, cells).
        const predictions: Record<string, unknown> = {};
        for (const part of parts) {
          for (const [key, value] of Object.entries(part)) {
            if (Array.isArray(value)) predictions[key] = [...((predictions[key] as unknown[]) ?? []), ...value];
            else predictions[key] = value;
          }
        }
        const artifact = await putArtifact(pool, {
          tenantId: input.tenantId,
          kind: 'predictions',
          mediaType: 'application/json',
          content: Buffer.from(
            JSON.stringify({
              model: input.modelName,
              version: input.version,
              datasetId: input.datasetId,
              columns: predictor.columns,
              rows: n,
              ...predictions,
            }),
          ),
        });
        return {
          modelName: input.modelName,
          version: input.version,
          datasetId: input.datasetId,
          rows: n,
          predictionsArtifactId: artifact.id,
          backend: backend.name,
          ranOn: ranOn(placement, hold),
          durationMs: Date.now() - started,
        };
      } finally {
        predictor.dispose();
        hold.release();
      }
    },
  };
}
