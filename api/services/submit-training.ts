import { ValidationError } from '../../common/errors';
import type { ByDatasetRef } from '../../common/dataset-ref';
import { TrainingJobInput } from '../../common/jobs';
import { loadDatasetTable } from '../../db/datasets';
import { trainingMemoryNeedMb } from '../../ml/training/memory-need';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../ml/training/spec';
import { trainingRequest } from '../schemas/training';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { datasetInput, datasetMemo, requestDataset } from './request-dataset';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmitOptions, SubmittedJob } from './submit-job';
import { priorityKeyOf } from './job-priority';

/**
 * Starts a durable training job for `tenantId` from a POST /api/v1/training body (the submit-job.ts shape); with
 * `options.idempotency`, the job id comes from the Idempotency-Key (a replay finds the key's job).
 */
export async function submitTraining(
  deps: SubmitDeps,
  tenantId: string,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedJob> {
  return startPreparedJob(deps, await prepareTraining(deps, tenantId, body), options);
}

/**
 * Validates a POST /api/v1/training body: the request's shape, then its columns, their types and the target's classes
 * against the dataset (by id, or the series version current now), so a request that cannot train is a ValidationError
 * naming the field (or NotFoundError for the dataset) instead of a failed job; then placement and the workflow start.
 * UnprocessableError when the memory need exceeds every online GPU of a `gpu` request.
 */
export async function prepareTraining(deps: SubmitDeps, tenantId: string, body: unknown): Promise<PreparedJob> {
  const request = parseWith(trainingRequest, body);
  const source = await requestDataset(deps.pool, tenantId, request);
  const loaded = await loadDatasetTable(deps.pool, tenantId, source.meta.id);
  if (!loaded) throw new Error(`dataset ${source.meta.id} vanished while being read`);
  const verdict = validateTrainingRequest(
    loaded.table,
    request.target,
    request.features,
    request.spec as TrainingSpec,
    request.training as TrainingOptions,
  );
  if (!verdict.ok) {
    const [first] = verdict.problems;
    throw new ValidationError(`${first.field}: ${first.message}`, first.field);
  }
  const features = verdict.features;
  const training = request.training as TrainingJobInput['training'];

  // Where it runs and the device memory it needs (requested, else the MLP estimate on this table), recorded with the job.
  const placement = await placeCompute(deps, request.resources, () =>
    trainingMemoryNeedMb(loaded.table, { target: request.target, features, spec: request.spec, training }),
  );
  const input: TrainingJobInput | ByDatasetRef<TrainingJobInput> = {
    tenantId,
    ...datasetInput(source),
    target: request.target,
    features,
    model: request.model,
    spec: request.spec,
    training,
    ...(placement.route ? { route: placement.route } : {}),
    gpuMemoryMb: placement.gpuMemoryMb,
  };
  return {
    kind: 'training',
    idPrefix: 'training',
    workflowType: 'trainingWorkflow',
    input,
    taskQueue: placement.taskQueue,
    computeQueue: placement.computeQueue,
    memo: {
      kind: 'training',
      model: request.model.name,
      task: request.spec.task,
      dataset: datasetMemo(source),
      target: request.target,
      features: features.length,
      epochs: request.training.epochs,
      resources: placement.memo,
    },
    attributes: {
      kind: 'training',
      tenantId,
      ...(source.ref ? {} : { datasetId: source.meta.id }),
      modelName: request.model.name,
    },
    datasetId: source.meta.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'training', algorithm: request.spec.task },
    priorityKey: priorityKeyOf(request.priority),
  };
}
