import { NotFoundError, ValidationError } from '../../common/errors';
import { TrainingJobInput } from '../../common/jobs';
import { DEFAULT_TENANT } from '../../common/tenant';
import { loadDatasetTable } from '../../db/datasets';
import { trainingMemoryNeedMb } from '../../ml/training/memory-need';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../ml/training/spec';
import { trainingRequest } from '../schemas/training';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { jobIdFor, startFacts, SubmitDeps, SubmitOptions, SubmittedJob } from './submit-job';

/**
 * Starts a durable training job from a POST /api/v1/training body (the submit-job.ts shape): the request's shape,
 * then its columns, their types and the target's classes against the dataset, so a request that cannot train is a
 * ValidationError naming the field (or NotFoundError for the dataset) instead of a failed job; then placement and the
 * workflow. UnprocessableError when the memory need exceeds every online GPU of a `gpu` request.
 */
export async function submitTraining(
  deps: SubmitDeps,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedJob> {
  const request = parseWith(trainingRequest, body);
  const loaded = await loadDatasetTable(deps.pool, DEFAULT_TENANT, request.datasetId);
  if (!loaded) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
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
  const jobId = jobIdFor('training', options);
  const input: TrainingJobInput = {
    tenantId: DEFAULT_TENANT,
    datasetId: request.datasetId,
    target: request.target,
    features,
    model: request.model,
    spec: request.spec,
    training,
    ...(placement.route ? { route: placement.route } : {}),
    gpuMemoryMb: placement.gpuMemoryMb,
  };
  const outcome = await deps.jobs.startTraining(
    jobId,
    input,
    placement.taskQueue,
    {
      kind: 'training',
      model: request.model.name,
      task: request.spec.task,
      dataset: { id: loaded.meta.id, name: loaded.meta.name, rows: loaded.meta.rows },
      target: request.target,
      features: features.length,
      epochs: request.training.epochs,
      resources: placement.memo,
    },
    options.idempotency,
  );
  if (outcome.created) deps.metrics.jobsStarted.inc({ kind: 'training', algorithm: request.spec.task });
  return {
    jobId,
    kind: 'training',
    datasetId: request.datasetId,
    taskQueue: placement.taskQueue,
    ...startFacts(outcome, placement.computeQueue),
  };
}
