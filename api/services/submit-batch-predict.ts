import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getArtifactMeta } from '../../db/artifacts';
import { getDataset } from '../../db/datasets';
import { estimateBatchPredictMemoryMb } from '../../gpu/memory-estimate';
import { TRAINING_LIMITS } from '../../ml/training/spec';
import { batchPredictRequest } from '../schemas/predict';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { resolvePredictVersion } from './model-version';
import { SubmitDeps, SubmittedJob } from './submit-job';

/**
 * Starts a durable batch prediction of model `name` (already validated) over a stored dataset from a POST
 * /api/v1/models/:name/batch-predict body (the submit-job.ts shape). The version is resolved now, so the job keeps
 * predicting with it even if an alias moves while it runs. NotFoundError for the dataset, the model, its version or
 * alias, or a version without an artifact; UnprocessableError when the memory need exceeds every online GPU of a
 * `gpu` request. The 202 also names the model and the version.
 */
export async function submitBatchPredict(deps: SubmitDeps, name: string, body: unknown): Promise<SubmittedJob> {
  const request = parseWith(batchPredictRequest, body);
  const dataset = await getDataset(deps.pool, DEFAULT_TENANT, request.datasetId);
  if (!dataset) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
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
  const jobId = `batch-predict-${randomUUID()}`;
  await deps.jobs.startBatchPredict(
    jobId,
    {
      tenantId: DEFAULT_TENANT,
      modelName: name,
      version: version.version,
      flavor: version.flavor,
      artifactId: version.artifactId,
      datasetId: dataset.id,
      ...(placement.route ? { route: placement.route } : {}),
      gpuMemoryMb: placement.gpuMemoryMb,
    },
    placement.taskQueue,
    {
      kind: 'batch-predict',
      model: name,
      version: version.version,
      dataset: { id: dataset.id, name: dataset.name, rows: dataset.rows },
      resources: placement.memo,
    },
  );
  deps.metrics.jobsStarted.inc({ kind: 'batch-predict', algorithm: version.flavor });
  return {
    jobId,
    kind: 'batch-predict',
    datasetId: dataset.id,
    taskQueue: placement.taskQueue,
    computeQueue: placement.computeQueue,
    details: { model: name, version: version.version },
  };
}
