import { NotFoundError, ValidationError } from '../../common/errors';
import type { ByDatasetRef } from '../../common/dataset-ref';
import type { BatchPredictJobInput } from '../../common/jobs';
import { ArtifactMeta, getArtifactContent, getArtifactMeta, getArtifactRange } from '../../db/artifacts';
import { DatasetMeta } from '../../db/datasets';
import { MODEL_PREFIX_BYTES, modelHeaderLength, modelInputColumns } from '../../ml/serving/model-columns';
import { estimateBatchPredictMemoryMb } from '../../gpu/memory-estimate';
import { TRAINING_LIMITS } from '../../ml/training/spec';
import { batchPredictRequest } from '../schemas/predict';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { resolvePredictVersion } from './model-version';
import { datasetInput, datasetMemo, requestDataset } from './request-dataset';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmitOptions, SubmittedJob } from './submit-job';
import { priorityKeyOf } from './job-priority';

/**
 * The model's input columns, read from its artifact: a trained MLP's header only (its weights may be large), a
 * clustering model's JSON whole. Undefined when the artifact cannot be read as a model (the job reports that).
 */
async function modelColumns(
  deps: SubmitDeps,
  tenantId: string,
  flavor: string,
  artifact: ArtifactMeta,
): Promise<string[] | undefined> {
  let content: Buffer | undefined;
  if (flavor.startsWith('mlp-')) {
    const prefix = await getArtifactRange(deps.pool, tenantId, artifact.id, 0, MODEL_PREFIX_BYTES);
    const headerLength = prefix ? modelHeaderLength(prefix) : 0;
    content = await getArtifactRange(deps.pool, tenantId, artifact.id, 0, MODEL_PREFIX_BYTES + headerLength);
  } else {
    content = await getArtifactContent(deps.pool, tenantId, artifact.id);
  }
  if (!content) return undefined;
  try {
    return modelInputColumns(flavor, content);
  } catch {
    return undefined;
  }
}

/**
 * Every input column of the model must be a number column of the dataset, or the job could only fail: a 400 (field
 * `field`: `datasetId`, or `dataset` for a series version) naming the columns it lacks or holds as text, before
 * anything starts.
 */
function checkDatasetColumns(dataset: DatasetMeta, columns: string[], model: string, field: string): void {
  const specs = new Map(dataset.columnSpecs.map((c) => [c.name, c.type]));
  const missing = columns.filter((c) => !specs.has(c));
  const text = columns.filter((c) => specs.has(c) && specs.get(c) !== 'number');
  if (missing.length === 0 && text.length === 0) return;
  const list = (names: string[]) =>
    names
      .slice(0, 20)
      .map((n) => JSON.stringify(n))
      .join(', ') + (names.length > 20 ? `, ... (${names.length} in all)` : '');
  const problems = [
    ...(missing.length ? [`has no column ${list(missing)}`] : []),
    ...(text.length ? [`holds text in ${list(text)}`] : []),
  ];
  throw new ValidationError(
    `dataset ${dataset.id} ${problems.join(' and ')}; model ${model} predicts from the number columns ${list(columns)}`,
    field,
    'dataset_columns_mismatch',
  );
}

/**
 * Starts a durable batch prediction of model `name` (already validated) from a POST
 * /api/v1/models/:name/batch-predict body (the submit-job.ts shape). The 202 also names the model and the version.
 * With `options.idempotency`, the job id comes from the Idempotency-Key (a replay finds the key's job).
 */
export async function submitBatchPredict(
  deps: SubmitDeps,
  tenantId: string,
  name: string,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedJob> {
  return startPreparedJob(deps, await prepareBatchPredict(deps, tenantId, name, body), options);
}

/**
 * Validates a batch prediction of model `name` (already validated) over a stored dataset or a series version. The
 * model version is resolved now, so the job keeps predicting with it even if an alias moves while it runs (and every
 * run of a schedule predicts with the version resolved when the schedule was created or last changed). NotFoundError
 * for the dataset, the model, its version or alias, or a version without an artifact; ValidationError (field
 * `datasetId` or `dataset`) when the dataset lacks a column the model predicts from or holds text there;
 * UnprocessableError when the memory need exceeds every online GPU of a `gpu` request.
 */
export async function prepareBatchPredict(
  deps: SubmitDeps,
  tenantId: string,
  name: string,
  body: unknown,
): Promise<PreparedJob> {
  const request = parseWith(batchPredictRequest, body);
  const source = await requestDataset(deps.pool, tenantId, request);
  const dataset = source.meta;
  const version = await resolvePredictVersion(deps.pool, tenantId, name, request.version, request.alias);
  const artifact = version.artifactId ? await getArtifactMeta(deps.pool, tenantId, version.artifactId) : undefined;
  if (!version.artifactId || !artifact)
    throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
  const columns = await modelColumns(deps, tenantId, version.flavor, artifact);
  if (columns)
    checkDatasetColumns(dataset, columns, `${name} v${version.version}`, source.ref ? 'dataset' : 'datasetId');

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
    tenantId,
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
      tenantId,
      ...(source.ref ? {} : { datasetId: dataset.id }),
      modelName: name,
    },
    datasetId: dataset.id,
    details: { model: name, version: version.version, ...(source.ref ? { dataset: source.ref } : {}) },
    metric: { kind: 'batch-predict', algorithm: version.flavor },
    priorityKey: priorityKeyOf(request.priority),
  };
}
