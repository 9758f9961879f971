import { z } from 'zod';
import { roleAllows, type Role } from '../../common/auth/roles';
import { ForbiddenError, NotFoundError, ValidationError } from '../../common/errors';
import type { TrainingJobInput } from '../../common/jobs';
import type { ByDatasetRef } from '../../common/dataset-ref';
import type {
  FullPipelineInput,
  FullPipelineRefInput,
  HoldoutSpec,
  PipelineThreshold,
  ValidationPipelineInput,
} from '../../common/pipelines';
import { TASK_QUEUES } from '../../common/task-queues';
import type { Table } from '../../datasets/table';
import { DatasetMeta, getDataset, loadDatasetTable } from '../../db/datasets';
import { getModel, isProtectedAlias } from '../../db/models';
import { previousAliasOf } from '../../db/promotion';
import { holdoutRowCount, holdoutTargetFacts, MIN_HOLDOUT_ROWS, MIN_TRAINING_ROWS } from '../../ml/evaluation/holdout';
import {
  ALL_METRICS,
  EvaluationTask,
  inMetricRange,
  metricInfo,
  metricRange,
  metricUndefinedOn,
  TASK_METRICS,
} from '../../ml/evaluation/metrics';
import { trainingMemoryNeedMb } from '../../ml/training/memory-need';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../ml/training/spec';
import { resolveOptions, VALIDATION_DEFAULTS } from '../../ml/validation/options';
import { durationMs, fullPipelineRequest, validationPipelineRequest } from '../schemas/pipelines';
import { parseWith } from '../schemas/validate';
import { ComputePlacement, placeCompute } from './compute-placement';
import type { JobStatus } from './jobs';
import { checkChampion, PipelineCandidate } from './pipeline-champion';
import { checkClusteringCandidate } from './pipeline-clustering';
import { datasetMemo, RequestDataset, requestDataset } from './request-dataset';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmitOptions } from './submit-job';
import { priorityKeyOf } from './job-priority';

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

async function datasetOr404(deps: SubmitDeps, tenantId: string, id: string, field: string): Promise<DatasetMeta> {
  const dataset = await getDataset(deps.pool, tenantId, id);
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
  tenantId: string,
  body: unknown,
  options: SubmitOptions = {},
): Promise<SubmittedPipeline> {
  return startPipeline(deps, await prepareValidationPipeline(deps, tenantId, body), options);
}

/**
 * A POST /api/v1/pipelines/validation body checked: the datasets exist, the target is one of the dataset's columns
 * (as the full pipeline does: 400 naming `target`, not a run that fails validation) and the overrides are valid.
 */
export async function prepareValidationPipeline(
  deps: SubmitDeps,
  tenantId: string,
  body: unknown,
): Promise<PreparedJob> {
  const request = parseWith(validationPipelineRequest, body);
  const source = await requestDataset(deps.pool, tenantId, request);
  const dataset = source.meta;
  const reference = request.referenceDatasetId
    ? await datasetOr404(deps, tenantId, request.referenceDatasetId, 'referenceDatasetId')
    : undefined;
  checkOverrides(request.checks);
  const target = request.target;
  const targetSpec = target !== undefined ? dataset.columnSpecs.find((c) => c.name === target) : undefined;
  if (target !== undefined && !targetSpec)
    throw new ValidationError(
      `target: dataset ${dataset.id} has no column ${JSON.stringify(target)}; its columns are ` +
        dataset.columnSpecs
          .slice(0, 20)
          .map((c) => JSON.stringify(c.name))
          .join(', '),
      'target',
    );
  const input: ValidationPipelineInput | ByDatasetRef<ValidationPipelineInput> = {
    tenantId,
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
      tenantId,
      ...(source.ref ? {} : { datasetId: dataset.id }),
      algorithm: 'validation',
      stage: 'validating',
    },
    priorityKey: priorityKeyOf(request.priority),
    datasetId: dataset.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'pipeline', algorithm: 'validation' },
  };
}

type FullRequest = z.infer<typeof fullPipelineRequest>;

/**
 * Every threshold's metric must exist, be one the task produces and appear once; a `threshold` must lie in the metric's
 * range (ml/evaluation/metrics.ts: accuracy ≥ 2 can never pass) and a `minAbsoluteChange` within its width; and a
 * metric the known holdout cannot define (F1 of a one-class holdout) is refused. greaterIsBetter defaults from the
 * metric.
 */
function resolveThresholds(
  request: FullRequest,
  task: EvaluationTask,
  holdoutFacts: { rows: number; classes?: number; constant?: boolean } | undefined,
): PipelineThreshold[] {
  const seen = new Map<string, number>();
  return request.gate.thresholds.map((t, i) => {
    const at = `gate.thresholds[${i}]`;
    const field = `${at}.metric`;
    if (!ALL_METRICS.includes(t.metric))
      throw new ValidationError(
        `${field}: unknown metric ${JSON.stringify(t.metric)}; known: ${ALL_METRICS.join(', ')}`,
        field,
      );
    const info = metricInfo(task, t.metric);
    if (!info) {
      const kind = task === 'clustering' ? 'clustering model' : `${task} model`;
      throw new ValidationError(
        `${field}: a ${kind} does not produce ${t.metric}; it produces ${Object.keys(TASK_METRICS[task]).join(', ')}`,
        field,
      );
    }
    const earlier = seen.get(t.metric);
    if (earlier !== undefined)
      throw new ValidationError(
        `${field}: ${t.metric} already has a threshold (gate.thresholds[${earlier}]); give each metric once, with all its criteria`,
        field,
      );
    seen.set(t.metric, i);
    if (t.threshold !== undefined && !inMetricRange(info, t.threshold))
      throw new ValidationError(
        `${at}.threshold: ${t.threshold} is outside the range of ${t.metric}, ${metricRange(info)}: no model can meet it`,
        `${at}.threshold`,
      );
    if (t.minAbsoluteChange !== undefined && info.min !== undefined && info.max !== undefined) {
      const width = info.max - info.min;
      if (t.minAbsoluteChange > width)
        throw new ValidationError(
          `${at}.minAbsoluteChange: ${t.minAbsoluteChange} is more than ${t.metric} can change (${metricRange(info)})`,
          `${at}.minAbsoluteChange`,
        );
    }
    const undefinedWhy = holdoutFacts ? metricUndefinedOn(task, t.metric, holdoutFacts) : undefined;
    if (undefinedWhy)
      throw new ValidationError(`${field}: ${t.metric} is undefined on the holdout dataset: ${undefinedWhy}`, field);
    return {
      metric: t.metric,
      ...(t.threshold !== undefined ? { threshold: t.threshold } : {}),
      ...(t.minAbsoluteChange !== undefined ? { minAbsoluteChange: t.minAbsoluteChange } : {}),
      ...(t.minRelativeChange !== undefined ? { minRelativeChange: t.minRelativeChange } : {}),
      greaterIsBetter: t.greaterIsBetter ?? info.greaterIsBetter,
    };
  });
}

/** What the holdout is and what is known of it at submit time. */
interface CheckedHoldout {
  spec: HoldoutSpec;
  /** Rows the candidate trains on: the whole dataset, or what a fraction leaves. */
  trainRows: number;
  /** A holdout dataset's table (a fraction's part exists only once the run splits it). */
  table?: Table;
}

/**
 * The holdout: a stored dataset other than the pipeline's (its own rows would be evaluated on what trained) with at
 * least MIN_HOLDOUT_ROWS rows, or a fraction holding out at least MIN_HOLDOUT_ROWS rows and leaving at least
 * MIN_TRAINING_ROWS to train on. 400 naming `holdout.datasetId` or `holdout.fraction`, 404 for an unknown dataset.
 */
async function checkHoldout(
  deps: SubmitDeps,
  tenantId: string,
  request: FullRequest,
  source: RequestDataset,
  rows: number,
): Promise<CheckedHoldout> {
  const h = request.holdout;
  if (h.datasetId !== undefined) {
    if (h.datasetId === source.meta.id)
      throw new ValidationError(
        source.ref
          ? `holdout.datasetId: is the version of dataset series ${JSON.stringify(source.ref.name)} the pipeline ` +
              'would train on: the candidate would be evaluated on the rows it trained on; give another dataset, or a fraction'
          : "holdout.datasetId: is the pipeline's datasetId: the candidate would be evaluated on the rows it trained on; " +
              'give another dataset, or a fraction of this one',
        'holdout.datasetId',
      );
    const loaded = await loadDatasetTable(deps.pool, tenantId, h.datasetId);
    if (!loaded) throw new NotFoundError('dataset', h.datasetId, 'holdout.datasetId');
    if (loaded.table.rows < MIN_HOLDOUT_ROWS)
      throw new ValidationError(
        `holdout.datasetId: dataset ${h.datasetId} has ${loaded.table.rows} rows; a holdout needs at least ` +
          `${MIN_HOLDOUT_ROWS} (metrics on fewer rows are too coarse to gate on)`,
        'holdout.datasetId',
      );
    return { spec: { datasetId: h.datasetId }, trainRows: rows, table: loaded.table };
  }
  const fraction = h.fraction!;
  const held = holdoutRowCount(rows, fraction);
  if (held < MIN_HOLDOUT_ROWS)
    throw new ValidationError(
      `holdout.fraction: ${fraction} of ${rows} rows holds out ${held}; a holdout needs at least ${MIN_HOLDOUT_ROWS} ` +
        `rows (a fraction of at least ${MIN_HOLDOUT_ROWS}/${rows})`,
      'holdout.fraction',
    );
  if (rows - held < MIN_TRAINING_ROWS)
    throw new ValidationError(
      `holdout.fraction: ${fraction} of ${rows} rows leaves ${rows - held} to train on; at least ${MIN_TRAINING_ROWS} ` +
        'must be left',
      'holdout.fraction',
    );
  return { spec: { fraction, seed: h.seed! }, trainRows: rows - held };
}

/** A holdout dataset must have each of `columns` with the type the candidate needs there (400 naming it otherwise). */
function checkHoldoutColumns(holdout: CheckedHoldout, table: Table, columns: string[]): void {
  if (!holdout.table || !('datasetId' in holdout.spec)) return;
  for (const column of columns) {
    const spec = holdout.table.columns.find((c) => c.name === column);
    const wanted = table.columns.find((c) => c.name === column)!.type;
    if (!spec || spec.type !== wanted) {
      throw new ValidationError(
        `holdout.datasetId: dataset ${holdout.spec.datasetId} ${spec ? `holds ${spec.type}s in column` : 'has no column'} ` +
          `${JSON.stringify(column)}; the model needs ${wanted}s there`,
        'holdout.datasetId',
      );
    }
  }
}

/**
 * The candidate's job, checked: an MLP training job, or a clustering job; without its datasetId, which is the
 * pipeline's (given, or resolved from a series when the run starts).
 */
type CheckedCandidate =
  | {
      kind: 'training';
      job: Omit<TrainingJobInput, 'datasetId'>;
      placement: ComputePlacement;
      champion: PipelineCandidate;
    }
  | {
      kind: 'clustering';
      job: NonNullable<FullPipelineRefInput['clustering']>;
      placement: ComputePlacement;
      champion: PipelineCandidate;
    };

/** The `training` body against the pipeline and its dataset, as POST /api/v1/training checks its own. */
async function checkTrainingCandidate(
  deps: SubmitDeps,
  tenantId: string,
  request: FullRequest,
  table: Table,
  holdout: CheckedHoldout,
): Promise<CheckedCandidate> {
  const training = request.training!;
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
  const verdict = validateTrainingRequest(
    table,
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
  checkHoldoutColumns(holdout, table, [...features, training.target]);
  const placement = await placeCompute(deps, training.resources, () =>
    trainingMemoryNeedMb(table, {
      target: training.target,
      features,
      spec: training.spec,
      training: training.training as TrainingJobInput['training'],
    }),
  );
  return {
    kind: 'training',
    job: {
      tenantId,
      target: training.target,
      features,
      model: request.model,
      spec: training.spec,
      training: training.training as TrainingJobInput['training'],
      ...(placement.route ? { route: placement.route } : {}),
      gpuMemoryMb: placement.gpuMemoryMb,
    },
    placement,
    champion: {
      kind: 'training',
      task: training.spec.task,
      target: training.target,
      holdoutColumns: (holdout.table ?? table).columns.map((c) => c.name),
    },
  };
}

/**
 * Who starts a full pipeline, or defines a schedule that starts them (scheduled runs start without a caller): their
 * role decides whether the pipeline may move a protected alias without an approver's decision.
 */
export interface PipelineStarter {
  role: Role;
}

/** The parts of a full pipeline request (as given or as parsed) that say what it promotes and who must approve. */
export interface PromotionFacts {
  model?: { name?: unknown };
  promote?: { alias?: unknown };
  approval?: { required?: unknown; onTimeout?: unknown };
}

/**
 * A full pipeline whose promotion moves a protected alias of its model (`champion` always; the model's
 * protectedAliases when the model exists) must wait for an approver's decision, or be started by an approver: else it
 * would move the alias with no approver's say, which PUT /api/v1/models/:name/aliases/:alias refuses an editor. A
 * promotion of `alias` also moves `previous-<alias>` to the alias's former version (db/promotion.ts), so it moves a
 * protected alias when either of the two is protected. An
 * approval that approves itself on timeout (`onTimeout: "approve"`) is no approver's decision. ForbiddenError
 * `protected_alias` (field `promote.alias`) for any other starter. Reads `request` as given (a schedule's stored
 * action) or parsed; a request without a model name or alias has nothing to check here (parsing refuses it).
 */
export async function checkPromotionStarter(
  deps: Pick<SubmitDeps, 'pool'>,
  tenantId: string,
  request: PromotionFacts,
  starter: PipelineStarter,
): Promise<void> {
  if (roleAllows(starter.role, 'approver')) return;
  const name = request.model?.name;
  const alias = request.promote?.alias;
  if (typeof name !== 'string' || typeof alias !== 'string') return;
  const approval = request.approval;
  if (approval?.required === true && approval.onTimeout !== 'approve') return;
  const model = await getModel(deps.pool, tenantId, name);
  const stored = model?.protectedAliases ?? [];
  const previous = previousAliasOf(alias);
  let moved: string;
  if (isProtectedAlias(alias, stored)) moved = `${JSON.stringify(alias)} is a protected alias`;
  else if (isProtectedAlias(previous, stored))
    moved = `promoting ${JSON.stringify(alias)} also moves ${JSON.stringify(previous)} (to the version it replaces), a protected alias`;
  else return;
  throw new ForbiddenError(
    `promote.alias: ${moved} of model ${JSON.stringify(name)}, and this pipeline ` +
      `would move it without an approver's decision (${approval?.required === true ? 'its approval approves itself on timeout' : 'it requires no approval'}): ` +
      `require approval (approval: {required: true, onTimeout: "reject"}), or have an approver start it (the caller is ${starter.role})`,
    'protected_alias',
    'promote.alias',
  );
}

/** POST /api/v1/pipelines/full: validates (prepareFullPipeline, `starter` the caller), then starts the run. */
export async function submitFullPipeline(
  deps: SubmitDeps,
  tenantId: string,
  body: unknown,
  starter: PipelineStarter,
  options: SubmitOptions = {},
): Promise<SubmittedPipeline> {
  return startPipeline(deps, await prepareFullPipeline(deps, tenantId, body, starter), options);
}

/**
 * A POST /api/v1/pipelines/full body checked (a schedule's `pipeline-full` action is checked the same way): everything
 * that can be checked before a run is checked here and answered with a 400 (404 for unknown datasets, 422 for a
 * champion the candidate cannot be compared with) naming the field: the dataset (`datasetId`, or `dataset`, a series
 * checked against the version it names now); exactly one
 * candidate, `training` (checked against the dataset as POST /api/v1/training does) or `clustering` (as POST
 * /api/v1/clustering does, of an algorithm that assigns new points); the holdout (another dataset with the model's
 * columns and at least MIN_HOLDOUT_ROWS rows, or a fraction that holds out that many and leaves MIN_TRAINING_ROWS);
 * the thresholds (metric of the task, once each, in range, defined on a holdout dataset's target); the alias holder
 * (promote.alias); the approval timeout and the check overrides. Before those, the starter (the caller, or whoever
 * defines the schedule) must be allowed to promote as asked (checkPromotionStarter: 403 `protected_alias`).
 */
export async function prepareFullPipeline(
  deps: SubmitDeps,
  tenantId: string,
  body: unknown,
  starter: PipelineStarter,
): Promise<PreparedJob> {
  const request = parseWith(fullPipelineRequest, body);
  if ((request.training === undefined) === (request.clustering === undefined))
    throw new ValidationError(
      `${request.training ? 'clustering' : 'training'}: give exactly one of training (an MLP candidate) and ` +
        'clustering (a clustering candidate)',
      request.training ? 'clustering' : 'training',
    );
  await checkPromotionStarter(deps, tenantId, request, starter);
  const source = await requestDataset(deps.pool, tenantId, request);
  const loaded = await loadDatasetTable(deps.pool, tenantId, source.meta.id);
  if (!loaded) throw new Error(`dataset ${source.meta.id} vanished while being read`);
  const reference = request.referenceDatasetId
    ? await datasetOr404(deps, tenantId, request.referenceDatasetId, 'referenceDatasetId')
    : undefined;
  checkOverrides(request.checks);
  const holdout = await checkHoldout(deps, tenantId, request, source, loaded.table.rows);

  let candidate: CheckedCandidate;
  if (request.training) {
    candidate = await checkTrainingCandidate(deps, tenantId, request, loaded.table, holdout);
  } else {
    const checked = await checkClusteringCandidate(deps, tenantId, request.clustering!, {
      ...(request.datasetId !== undefined ? { datasetId: request.datasetId } : {}),
      modelName: request.model.name,
      table: loaded.table,
      trainRows: holdout.trainRows,
    });
    checkHoldoutColumns(holdout, loaded.table, checked.job.columns);
    candidate = {
      kind: 'clustering',
      job: checked.job,
      placement: checked.placement,
      champion: { kind: 'clustering', columns: checked.job.columns },
    };
  }
  const task: EvaluationTask = candidate.kind === 'training' ? candidate.job.spec.task : 'clustering';
  const target = candidate.kind === 'training' ? candidate.job.target : undefined;
  const facts = holdout.table && target !== undefined ? holdoutTargetFacts(holdout.table, target) : undefined;
  const thresholds = resolveThresholds(request, task, facts);
  await checkChampion(deps.pool, tenantId, request.model.name, request.promote.alias, candidate.champion);
  const approval =
    request.approval?.required === true
      ? {
          timeout: request.approval.timeout,
          timeoutMs: durationMs(request.approval.timeout)!,
          onTimeout: request.approval.onTimeout,
        }
      : undefined;

  const { placement } = candidate;
  const common = {
    tenantId,
    modelName: request.model.name,
    holdout: holdout.spec,
    ...(reference ? { referenceDatasetId: reference.id } : {}),
    ...(request.checks ? { checks: request.checks } : {}),
    gate: { thresholds, noChampion: request.gate.noChampion },
    ...(approval ? { approval } : {}),
    promote: request.promote,
  };
  let input: FullPipelineInput | FullPipelineRefInput;
  if (source.ref) {
    const job = candidate.kind === 'training' ? { training: candidate.job } : { clustering: candidate.job };
    input = { ...common, dataset: source.ref, ...job };
  } else {
    const datasetId = source.meta.id;
    const job =
      candidate.kind === 'training'
        ? { training: { ...candidate.job, datasetId } }
        : { clustering: { ...candidate.job, datasetId } };
    input = { ...common, datasetId, ...job };
  }
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
      task,
      ...(candidate.kind === 'clustering' ? { algorithm: candidate.job.algorithm } : {}),
      dataset: datasetMemo(source),
      holdout: holdout.spec,
      alias: request.promote.alias,
      approvalRequired: approval !== undefined,
      resources: placement.memo,
    },
    attributes: {
      kind: 'pipeline',
      tenantId,
      ...(source.ref ? {} : { datasetId: source.meta.id }),
      algorithm: 'full',
      modelName: request.model.name,
      stage: 'validating',
    },
    priorityKey: priorityKeyOf(request.priority),
    datasetId: source.meta.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'pipeline', algorithm: 'full' },
  };
}
