import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../common/errors';
import type { TrainingJobInput } from '../../common/jobs';
import type { ByDatasetRef } from '../../common/dataset-ref';
import type {
  FullPipelineInput,
  FullPipelineRefInput,
  PipelineThreshold,
  ValidationPipelineInput,
} from '../../common/pipelines';
import { TASK_QUEUES } from '../../common/task-queues';
import { DEFAULT_TENANT } from '../../common/tenant';
import { DatasetMeta, getDataset, loadDatasetTable } from '../../db/datasets';
import { holdoutRowCount } from '../../ml/evaluation/holdout';
import { ALL_METRICS, metricInfo, TASK_METRICS } from '../../ml/evaluation/metrics';
import { trainingMemoryNeedMb } from '../../ml/training/memory-need';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../ml/training/spec';
import { resolveOptions, VALIDATION_DEFAULTS } from '../../ml/validation/options';
import { durationMs, fullPipelineRequest, validationPipelineRequest } from '../schemas/pipelines';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import type { JobStatus } from './jobs';
import { datasetMemo, requestDataset } from './request-dataset';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmitOptions } from './submit-job';

export interface SubmittedPipeline {
  pipelineId: string;
  kind: 'validation' | 'full';
  datasetId: string;
  taskQueue: string;
  computeQueue?: string;
  /** True when an earlier request with the same Idempotency-Key started the run (the route answers 200). */
  replayed?: boolean;
  /** The run's status when it is a replay. */
  status?: JobStatus;
}

async function datasetOr404(deps: SubmitDeps, id: string, field: string): Promise<DatasetMeta> {
  const dataset = await getDataset(deps.pool, DEFAULT_TENANT, id);
  if (!dataset) throw new NotFoundError('dataset', id, field);
  return dataset;
}

/** Most quantiles `checks.profileQuantiles` may list (README: Limits): every percentile and the median twice over. */
export const MAX_PROFILE_QUANTILES = 101;

/**
 * The data-check overrides, checked here so that a bad one is a 400 naming `checks.<field>` and not a failed run:
 * every key must be a ValidationOptions field holding a number (`profileQuantiles`: at most MAX_PROFILE_QUANTILES
 * numbers; `severities`: an object), and the whole must pass ml/validation's resolveOptions. So the overrides a run
 * carries in its input stay a few KiB.
 */
function checkOverrides(checks: Record<string, unknown> | undefined): void {
  if (!checks) return;
  for (const [key, value] of Object.entries(checks)) {
    const field = `checks.${key}`;
    if (!Object.prototype.hasOwnProperty.call(VALIDATION_DEFAULTS, key)) {
      throw new ValidationError(
        `${field}: unknown setting; known: ${Object.keys(VALIDATION_DEFAULTS).join(', ')}`,
        field,
        'unknown_field',
      );
    }
    if (key === 'profileQuantiles') {
      if (!Array.isArray(value) || value.some((q) => typeof q !== 'number'))
        throw new ValidationError(`${field}: must be an array of numbers in [0, 1]`, field);
      if (value.length > MAX_PROFILE_QUANTILES)
        throw new ValidationError(`${field}: at most ${MAX_PROFILE_QUANTILES} quantiles, got ${value.length}`, field);
    } else if (key === 'severities') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new ValidationError(`${field}: must be an object of check names to "error" or "warn"`, field);
    } else if (typeof value !== 'number') {
      throw new ValidationError(`${field}: must be a number, got ${JSON.stringify(value)?.slice(0, 40)}`, field);
    }
  }
  try {
    resolveOptions(checks as Parameters<typeof resolveOptions>[0]);
  } catch (err) {
    const message = (err as Error).message;
    // resolveOptions names the field first ("psiBins must be in 2..1000", "severities.drift must be ...").
    const field = /^([A-Za-z.]+?)(?::| must| should)/.exec(message)?.[1] ?? Object.keys(checks)[0];
    throw new ValidationError(`checks.${message}`, `checks.${field}`);
  }
}

/**
 * Starts a prepared pipeline (idempotently with `options.idempotency`); its 202 names it `pipelineId`, and a replay
 * says so with the run's status.
 */
async function startPipeline(
  deps: SubmitDeps,
  prepared: PreparedJob,
  options?: SubmitOptions,
): Promise<SubmittedPipeline> {
  const job = await startPreparedJob(deps, prepared, options);
  return {
    pipelineId: job.jobId,
    kind: prepared.metric.algorithm as SubmittedPipeline['kind'],
    datasetId: job.datasetId,
    taskQueue: job.taskQueue,
    // A replay's compute queue is the one the first request chose (startFacts).
    ...(prepared.computeQueue ? { computeQueue: job.computeQueue } : {}),
    ...(job.replayed ? { replayed: true, status: job.status } : {}),
    ...(prepared.details ?? {}),
  };
}

/** POST /api/v1/pipelines/validation: validates (prepareValidationPipeline), then starts the run. */
export async function submitValidationPipeline(
  deps: SubmitDeps,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedPipeline> {
  return startPipeline(deps, await prepareValidationPipeline(deps, body), options);
}

/** A POST /api/v1/pipelines/validation body checked: the datasets exist and the overrides are valid. */
export async function prepareValidationPipeline(deps: SubmitDeps, body: unknown): Promise<PreparedJob> {
  const request = parseWith(validationPipelineRequest, body);
  const source = await requestDataset(deps.pool, request);
  const dataset = source.meta;
  const reference = request.referenceDatasetId
    ? await datasetOr404(deps, request.referenceDatasetId, 'referenceDatasetId')
    : undefined;
  checkOverrides(request.checks);
  const target = request.target;
  const targetSpec = target !== undefined ? dataset.columnSpecs.find((c) => c.name === target) : undefined;
  const input: ValidationPipelineInput | ByDatasetRef<ValidationPipelineInput> = {
    tenantId: DEFAULT_TENANT,
    ...(source.ref ? { dataset: source.ref } : { datasetId: dataset.id }),
    ...(reference ? { referenceDatasetId: reference.id } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(targetSpec ? { task: targetSpec.type === 'string' ? 'classification' : 'regression' } : {}),
    ...(request.checks ? { checks: request.checks } : {}),
  };
  return {
    kind: 'pipeline',
    idPrefix: 'pipeline-validation',
    workflowType: 'validationPipelineWorkflow',
    input,
    taskQueue: TASK_QUEUES.cpu,
    memo: {
      kind: 'pipeline',
      pipeline: 'validation',
      dataset: datasetMemo(source),
      ...(reference ? { referenceDataset: { id: reference.id, name: reference.name, rows: reference.rows } } : {}),
      ...(target !== undefined ? { target } : {}),
    },
    attributes: {
      kind: 'pipeline',
      tenantId: DEFAULT_TENANT,
      ...(source.ref ? {} : { datasetId: dataset.id }),
      algorithm: 'validation',
      stage: 'validating',
    },
    ...(request.priority !== undefined ? { priorityKey: request.priority } : {}),
    datasetId: dataset.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'pipeline', algorithm: 'validation' },
  };
}

type FullRequest = z.infer<typeof fullPipelineRequest>;

/** Every threshold's metric must exist and be one the task produces; greaterIsBetter defaults from the metric. */
function resolveThresholds(request: FullRequest): PipelineThreshold[] {
  const task = request.training.spec.task;
  return request.gate.thresholds.map((t, i) => {
    const field = `gate.thresholds[${i}].metric`;
    if (!ALL_METRICS.includes(t.metric))
      throw new ValidationError(
        `${field}: unknown metric ${JSON.stringify(t.metric)}; known: ${ALL_METRICS.join(', ')}`,
        field,
      );
    const info = metricInfo(task, t.metric);
    if (!info) {
      throw new ValidationError(
        `${field}: a ${task} model does not produce ${t.metric}; it produces ${Object.keys(TASK_METRICS[task]).join(', ')}`,
        field,
      );
    }
    return {
      metric: t.metric,
      ...(t.threshold !== undefined ? { threshold: t.threshold } : {}),
      ...(t.minAbsoluteChange !== undefined ? { minAbsoluteChange: t.minAbsoluteChange } : {}),
      ...(t.minRelativeChange !== undefined ? { minRelativeChange: t.minRelativeChange } : {}),
      greaterIsBetter: t.greaterIsBetter ?? info.greaterIsBetter,
    };
  });
}

/** POST /api/v1/pipelines/full: validates (prepareFullPipeline), then starts the run. */
export async function submitFullPipeline(
  deps: SubmitDeps,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedPipeline> {
  return startPipeline(deps, await prepareFullPipeline(deps, body), options);
}

/**
 * A POST /api/v1/pipelines/full body checked: everything that can be checked before a run is checked here and
 * answered with a 400 (404 for unknown datasets) naming the field: the training request against the dataset (as POST
 * /api/v1/training does), the holdout (its dataset's columns, or a fraction that holds out at least one row and
 * leaves one), the thresholds' metrics against the task, the approval timeout, the alias and the check overrides.
 */
export async function prepareFullPipeline(deps: SubmitDeps, body: unknown): Promise<PreparedJob> {
  const request = parseWith(fullPipelineRequest, body);
  const { training } = request;
  if (training.dataset !== undefined)
    throw new ValidationError(
      'training.dataset: the pipeline trains on its own dataset; leave it out',
      'training.dataset',
    );
  if (training.datasetId !== undefined && training.datasetId !== request.datasetId)
    throw new ValidationError('training.datasetId: must be the pipeline datasetId (or left out)', 'training.datasetId');
  if (training.model !== undefined && training.model.name !== request.model.name)
    throw new ValidationError(
      'training.model.name: must be the pipeline model.name (or left out)',
      'training.model.name',
    );
  const source = await requestDataset(deps.pool, request);
  const loaded = await loadDatasetTable(deps.pool, DEFAULT_TENANT, source.meta.id);
  if (!loaded) throw new Error(`dataset ${source.meta.id} vanished while being read`);
  const reference = request.referenceDatasetId
    ? await datasetOr404(deps, request.referenceDatasetId, 'referenceDatasetId')
    : undefined;
  checkOverrides(request.checks);

  const verdict = validateTrainingRequest(
    loaded.table,
    training.target,
    training.features,
    training.spec as TrainingSpec,
    training.training as TrainingOptions,
  );
  if (!verdict.ok) {
    const [first] = verdict.problems;
    throw new ValidationError(`training.${first.field}: ${first.message}`, `training.${first.field}`);
  }
  const features = verdict.features;

  if ('datasetId' in request.holdout) {
    const holdout = await datasetOr404(deps, request.holdout.datasetId, 'holdout.datasetId');
    for (const column of [...features, training.target]) {
      const spec = holdout.columnSpecs.find((c) => c.name === column);
      const wanted = loaded.table.columns.find((c) => c.name === column)!.type;
      if (!spec || spec.type !== wanted) {
        throw new ValidationError(
          `holdout.datasetId: dataset ${holdout.id} ${spec ? `holds ${spec.type}s in column` : 'has no column'} ` +
            `${JSON.stringify(column)}; the model needs ${wanted}s there`,
          'holdout.datasetId',
        );
      }
    }
  } else {
    const held = holdoutRowCount(loaded.table.rows, request.holdout.fraction);
    if (held < 1)
      throw new ValidationError(
        `holdout.fraction: ${request.holdout.fraction} of ${loaded.table.rows} rows holds out no row`,
        'holdout.fraction',
      );
    if (held >= loaded.table.rows)
      throw new ValidationError('holdout.fraction: leaves no row to train on', 'holdout.fraction');
  }
  const thresholds = resolveThresholds(request);
  const approval =
    request.approval?.required === true
      ? {
          timeout: request.approval.timeout,
          timeoutMs: durationMs(request.approval.timeout)!,
          onTimeout: request.approval.onTimeout,
        }
      : undefined;

  const placement = await placeCompute(deps, training.resources, () =>
    trainingMemoryNeedMb(loaded.table, {
      target: training.target,
      features,
      spec: training.spec,
      training: training.training as TrainingJobInput['training'],
    }),
  );
  const trainingInput: Omit<TrainingJobInput, 'datasetId'> = {
    tenantId: DEFAULT_TENANT,
    target: training.target,
    features,
    model: request.model,
    spec: training.spec,
    training: training.training as TrainingJobInput['training'],
    ...(placement.route ? { route: placement.route } : {}),
    gpuMemoryMb: placement.gpuMemoryMb,
  };
  const common = {
    tenantId: DEFAULT_TENANT,
    modelName: request.model.name,
    holdout: request.holdout,
    ...(reference ? { referenceDatasetId: reference.id } : {}),
    ...(request.checks ? { checks: request.checks } : {}),
    gate: { thresholds, noChampion: request.gate.noChampion },
    ...(approval ? { approval } : {}),
    promote: request.promote,
  };
  const input: FullPipelineInput | FullPipelineRefInput = source.ref
    ? { ...common, dataset: source.ref, training: trainingInput }
    : { ...common, datasetId: source.meta.id, training: { ...trainingInput, datasetId: source.meta.id } };
  return {
    kind: 'pipeline',
    idPrefix: 'pipeline-full',
    workflowType: 'fullPipelineWorkflow',
    input,
    taskQueue: placement.taskQueue,
    computeQueue: placement.computeQueue,
    memo: {
      kind: 'pipeline',
      pipeline: 'full',
      model: request.model.name,
      task: training.spec.task,
      dataset: datasetMemo(source),
      holdout: request.holdout,
      alias: request.promote.alias,
      approvalRequired: approval !== undefined,
      resources: placement.memo,
    },
    attributes: {
      kind: 'pipeline',
      tenantId: DEFAULT_TENANT,
      ...(source.ref ? {} : { datasetId: source.meta.id }),
      algorithm: 'full',
      modelName: request.model.name,
      stage: 'validating',
    },
    ...(request.priority !== undefined ? { priorityKey: request.priority } : {}),
    datasetId: source.meta.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'pipeline', algorithm: 'full' },
  };
}
