import { NotFoundError } from '../../common/errors';
import type { ByDatasetRef } from '../../common/dataset-ref';
import type { BatchPredictJobInput } from '../../common/jobs';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getArtifactMeta } from '../../db/artifacts';
import { estimateBatchPredictMemoryMb } from '../../gpu/memory-estimate';
import { TRAINING_LIMITS } from '../../ml/training/spec';
import { batchPredictRequest } from '../schemas/predict';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { resolvePredictVersion } from './model-version';
import { datasetInput, datasetMemo, requestDataset } from './request-dataset';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmittedJob } from './submit-job';

/**
 * Starts a durable batch prediction of model `name` (already validated) from a POST
 * /api/v1/models/:name/batch-predict body (the submit-job.ts shape). The 202 also names the model and the version.
 */
export async function submitBatchPredict(deps: SubmitDeps, name: string, body: unknown): Promise<SubmittedJob> {
  return startPreparedJob(deps, await prepareBatchPredict(deps, name, body));
}

/**
 * Validates a batch prediction of model `name` (already validated) over a stored dataset or a series version. The
 * model version is resolved now, so the job keeps predicting with it even if an alias moves while it runs (and every
 * run of a schedule predicts with the version resolved when the schedule was created or last changed). NotFoundError
 * for the dataset, the model, its version or alias, or a version without an artifact; UnprocessableError when the
 * memory need exceeds every online GPU of a `gpu` request.
 */
export async function prepareBatchPredict(deps: SubmitDeps, name: string, body: unknown): Promise<PreparedJob> {
  const request = parseWith(batchPredictRequest, body);
  const source = await requestDataset(deps.pool, request);
  const dataset = source.meta;
  const version = await resolvePredictVersion(deps.pool, name, request.version, request.alias);
  const artifact = version.artifactId
    ? await getArtifactMeta(deps.pool, DEFAULT_TENANT, version.artifactId)
    : undefined;
  if (!version.artifactId || !artifact)
    throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');

  // Where it runs and the device memory it needs (requested, else estimated from the model and the dataset).
  const placement = await placeCompute(deps, request.resources, () =>
    estimateBatchPredictMemoryMb({
      modelBytes: artifact.sizeBytes,
      rows: dataset.rows,
      features: Math.max(1, dataset.columnSpecs.length),
      maxLayerUnits: TRAINING_LIMITS.maxUnits,
    }),
  );
  const input: BatchPredictJobInput | ByDatasetRef<BatchPredictJobInput> = {
    tenantId: DEFAULT_TENANT,
    modelName: name,
    version: version.version,
    flavor: version.flavor,
    artifactId: version.artifactId,
    ...datasetInput(source),
    ...(placement.route ? { route: placement.route } : {}),
    gpuMemoryMb: placement.gpuMemoryMb,
  };
  return {
    kind: 'batch-predict',
    idPrefix: 'batch-predict',
    workflowType: 'batchPredictWorkflow',
    input,
    taskQueue: placement.taskQueue,
    computeQueue: placement.computeQueue,
    memo: {
      kind: 'batch-predict',
      model: name,
      version: version.version,
      dataset: datasetMemo(source),
      resources: placement.memo,
    },
    attributes: {
      kind: 'batch-predict',
      tenantId: DEFAULT_TENANT,
      ...(source.ref ? {} : { datasetId: dataset.id }),
      modelName: name,
    },
    datasetId: dataset.id,
    details: { model: name, version: version.version, ...(source.ref ? { dataset: source.ref } : {}) },
    metric: { kind: 'batch-predict', algorithm: version.flavor },
  };
}
