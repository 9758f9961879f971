import {
  WorkflowUpdateFailedError,
  type WorkflowUpdateHandle,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { ConflictError, DependencyUnavailableError, ForbiddenError, NotFoundError } from '../../common/errors';
import { decisionUpdate } from '../../common/messages/pipeline';
import { TemporalScheduledById } from '../../common/messages/search-attributes';
import type {
  Decision,
  DecisionOutcome,
  DecisionRequest,
  FullPipelineResult,
  ValidationPipelineResult,
} from '../../common/pipelines';
import { KilnKind, KilnStage } from '../../common/search-attributes';
import { getEvaluation, getValidationReport } from '../../db/pipelines';
import { TASK_METRICS } from '../../ml/evaluation/metrics';
import type { EvaluationTask } from '../../ml/evaluation/metrics';
import type { JobService } from './jobs';
import { decisionRequest } from '../schemas/pipelines';
import { parseWith } from '../schemas/validate';
import { pipelineLinks, TemporalUi } from './accepted';
import { scheduleRunStarters } from './schedule-audit';

/** The metrics of `values` in TASK_METRICS order, any others after them. */
function metricOrder(task: string, values: Record<string, number>): string[] {
  const known = Object.keys(TASK_METRICS[task as EvaluationTask] ?? {});
  return [...known.filter((m) => m in values), ...Object.keys(values).filter((m) => !known.includes(m))];
}

/** What the pipeline read and decision services use (the routers' ApiDeps satisfies it). */
export interface PipelineDeps extends TemporalUi {
  pool: Pool;
  jobs: JobService;
}

/** The status a client sees for a Temporal status: CANCELLED spelled CANCELED, as everywhere in the API. */
function clientStatus(name: WorkflowExecutionStatusName): string {
  return name === 'CANCELLED' ? 'CANCELED' : name;
}

/** The pipeline run behind an id: 404 (field `id`) unless it is a pipeline Kiln started for `tenantId`. */
async function findPipeline(deps: PipelineDeps, tenantId: string, id: string) {
  let found: Awaited<ReturnType<JobService['describeOr404']>>;
  try {
    found = await deps.jobs.describeOr404(tenantId, id);
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError('pipeline', id, 'id');
    throw err;
  }
  if (found.description.typedSearchAttributes.get(KilnKind) !== 'pipeline')
    throw new NotFoundError('pipeline', id, 'id');
  return found;
}

/**
 * GET /api/v1/pipelines/:id: status (RUNNING, AWAITING_APPROVAL, the outcome once completed: PASSED,
 * FAILED_VALIDATION, GATE_FAILED, REJECTED, PROMOTED; or FAILED, CANCELED, TERMINATED, TIMED_OUT), stage, the ids,
 * counts and metrics of the stages done so far (from the memo while it runs, from the result once completed), links.
 */
export async function describePipeline(deps: PipelineDeps, tenantId: string, id: string) {
  const { handle, description } = await findPipeline(deps, tenantId, id);
  const memo = (description.memo ?? {}) as Record<string, unknown>;
  const temporalStatus = description.status.name;
  const stage = description.typedSearchAttributes.get(KilnStage) ?? (memo.stage as string | undefined);
  let status: string;
  let facts: Record<string, unknown>;
  let error: { message: string; type?: string } | undefined;
  if (temporalStatus === 'RUNNING') {
    status = stage === 'awaiting-approval' ? 'AWAITING_APPROVAL' : 'RUNNING';
    const { kind: _kind, pipeline: _pipeline, ...rest } = memo;
    facts = rest;
  } else if (temporalStatus === 'COMPLETED') {
    const result = (await handle.result()) as FullPipelineResult | ValidationPipelineResult;
    const { kind: _kind, ...rest } = result;
    status = result.status;
    facts = rest;
  } else {
    status = clientStatus(temporalStatus);
    const { kind: _kind, pipeline: _pipeline, status: _status, ...rest } = memo;
    facts = rest;
    error = (await deps.jobs.describe(tenantId, id)).error;
  }
  const kind = memo.pipeline as string;
  const trainingJobId = facts.trainingJobId as string | undefined;
  const clusteringJobId = facts.clusteringJobId as string | undefined;
  const registered = facts.registered as { modelName: string; version: number } | undefined;
  return {
    pipelineId: id,
    kind,
    status,
    stage: stage ?? 'validating',
    startTime: description.startTime.toISOString(),
    ...(description.closeTime ? { closeTime: description.closeTime.toISOString() } : {}),
    ...(memo.model ? { model: memo.model } : {}),
    dataset: memo.dataset,
    ...facts,
    ...(error ? { error } : {}),
    links: {
      ...pipelineLinks(id),
      ...(kind === 'full' ? { decision: `/api/v1/pipelines/${id}/decision` } : {}),
      ...(trainingJobId ? { trainingJob: `/api/v1/jobs/${trainingJobId}` } : {}),
      ...(clusteringJobId ? { clusteringJob: `/api/v1/jobs/${clusteringJobId}` } : {}),
      ...(registered ? { modelVersion: `/api/v1/models/${registered.modelName}/versions/${registered.version}` } : {}),
      ...(deps.temporalUiUrl
        ? { temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(id)}` }
        : {}),
    },
  };
}

/**
 * GET /api/v1/pipelines/:id/report: the stored data-validation report (checks, summary, profile, drift) and, for full
 * pipelines past evaluation, the evaluation table with the gate's verdict. 409 while the validation stage runs.
 */
export async function pipelineReport(deps: PipelineDeps, tenantId: string, id: string) {
  await findPipeline(deps, tenantId, id);
  const report = await getValidationReport(deps.pool, tenantId, id);
  if (!report)
    throw new ConflictError(`pipeline ${id} has no report yet; poll GET /api/v1/pipelines/${id}`, 'report_not_ready');
  const evaluation = await getEvaluation(deps.pool, tenantId, id);
  return {
    pipelineId: id,
    reportId: report.id,
    datasetId: report.datasetId,
    referenceDatasetId: report.referenceDatasetId,
    holdoutDatasetId: report.holdoutDatasetId,
    passed: report.passed,
    counts: report.counts,
    createdAt: report.createdAt,
    report: report.report,
    ...(evaluation
      ? {
          evaluation: {
            evaluationId: evaluation.id,
            task: evaluation.task,
            holdoutDatasetId: evaluation.holdoutDatasetId,
            holdoutRows: evaluation.holdoutRows,
            holdout: evaluation.holdout,
            champion:
              evaluation.championVersion !== null
                ? { alias: evaluation.championAlias, version: evaluation.championVersion }
                : null,
            // jsonb keeps keys in its own order; the table lists them in the task's documented order.
            metrics: metricOrder(evaluation.task, evaluation.candidateMetrics).map((metric) => ({
              metric,
              candidate: evaluation.candidateMetrics[metric],
              champion: evaluation.championMetrics?.[metric] ?? null,
            })),
            details: evaluation.details,
            gate: evaluation.gate,
          },
        }
      : {}),
    links: pipelineLinks(id),
  };
}

/** How long the decision waits for the run's worker to accept it (run its validator): past it, a 503. */
export const DECISION_ACCEPT_MS = 10_000;
/** How long an accepted decision waits for its outcome (registered, promoted) before answering 503. */
export const DECISION_OUTCOME_MS = 60_000;

/** gRPC FAILED_PRECONDITION: the server refuses an Update while the run's workflow task keeps failing. */
const GRPC_FAILED_PRECONDITION = 9;

/** The error a server call failed with on the way, found on `err` or its causes (the client wraps gRPC errors). */
function grpcCodeOf(err: unknown): { code: number; details?: string } | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return { code, details: (e as { details?: string }).details };
  }
  return undefined;
}

/** An outcome in the current shape: runs from before `error` was an object answered a bare string. */
function normalised(outcome: DecisionOutcome): DecisionOutcome {
  return typeof outcome.error === 'string' ? { ...outcome, error: { message: outcome.error } } : outcome;
}

/** Whether `decision` is the reviewer's `request`: the same value, given through this endpoint (not by timeout). */
function sameDecision(decision: Decision | undefined, request: DecisionRequest): decision is Decision {
  return decision?.by === 'reviewer' && decision.decision === request.decision;
}

/**
 * The outcome of a decision already taken by a run that has ended, for a client repeating it (its first answer lost,
 * to a dropped connection or a restarted API): the result's decision, registered version and promotion for a
 * completed run; the memo's decision and version, and the failure, for a run that failed after the decision. A
 * different decision, or a run that ended without this decision, is a 409 saying how it ended.
 */
async function recordedOutcome(
  deps: PipelineDeps,
  tenantId: string,
  id: string,
  found: Awaited<ReturnType<typeof findPipeline>>,
  request: DecisionRequest,
): Promise<DecisionOutcome> {
  const { handle, description } = found;
  const status = clientStatus(description.status.name);
  const memo = (description.memo ?? {}) as Record<string, unknown>;
  let recorded: Decision | undefined;
  let outcome: DecisionOutcome | undefined;
  let ended = status;
  if (status === 'COMPLETED') {
    const result = (await handle.result()) as FullPipelineResult | ValidationPipelineResult;
    ended = `COMPLETED (${result.status})`;
    if (result.kind === 'full') {
      recorded = result.decision;
      if (sameDecision(recorded, request) && (result.status === 'PROMOTED' || result.status === 'REJECTED'))
        outcome = {
          decision: recorded,
          status: result.status,
          ...(result.registered ? { registered: result.registered } : {}),
          ...(result.promotion ? { promotion: result.promotion } : {}),
        };
    }
  } else if (status === 'FAILED') {
    recorded = memo.decision as Decision | undefined;
    if (sameDecision(recorded, request)) {
      const registered = memo.registered as DecisionOutcome['registered'];
      const error = (await deps.jobs.describe(tenantId, id)).error;
      outcome = {
        decision: recorded,
        status: 'FAILED',
        ...(registered ? { registered } : {}),
        ...(error ? { error } : {}),
      };
    }
  } else {
    recorded = memo.decision as Decision | undefined;
  }
  if (outcome) return outcome;
  const decided = recorded ? `; it was decided ${recorded.decision} (by ${recorded.by} at ${recorded.at})` : '';
  throw new ConflictError(
    `pipeline ${id} is not waiting for approval: it ended ${ended}${decided}`,
    'not_awaiting_approval',
  );
}

/**
 * Who a run is attributed to, all of them: the principal that started it (memo `startedBy`: a job route's caller, or
 * for a run a schedule started, whoever had defined the schedule when the run started), and for a schedule's run,
 * whoever triggered or backfilled it (scheduleRunStarters; every principal that ever defined the schedule for a run
 * from before runs named their definer). Empty for a direct run from before `startedBy` was recorded.
 */
async function startersOf(
  deps: PipelineDeps,
  tenantId: string,
  id: string,
  found: Awaited<ReturnType<typeof findPipeline>>,
): Promise<Set<string>> {
  const startedBy = (found.description.memo ?? {}).startedBy;
  const named = typeof startedBy === 'string';
  const scheduleId = found.description.typedSearchAttributes.get(TemporalScheduledById);
  const starters = scheduleId
    ? await scheduleRunStarters(deps.pool, tenantId, scheduleId, id, !named)
    : new Set<string>();
  if (named) starters.add(startedBy);
  return starters;
}

/**
 * POST /api/v1/pipelines/:id/decision: the reviewer's decision, delivered as the workflow's `decision` Update (its id
 * `decision-<approve|reject>`, so a repeat attaches to the first); answers with what followed (registered version,
 * promotion), or, when registering or promoting failed, status FAILED with the failure's message and type (a version
 * registered READY whose promotion was refused stays READY, unpromoted: see `registered`).
 *
 * Idempotent for the same decision: repeated while the run registers, or after it ended, it answers the recorded
 * outcome (200). A different decision, or one when the run is not waiting, is a 409. When the run's worker does not
 * accept the decision within DECISION_ACCEPT_MS (no worker polling, or its workflow task failing), a 503
 * (dependency_unavailable) saying the decision was not accepted; when the outcome takes longer than DECISION_OUTCOME_MS,
 * a 503 saying it was accepted and is being applied. Either way the same decision may be sent again.
 *
 * `reviewer`, the caller, never decides a run attributed to them (startersOf): ForbiddenError `self_approval`. Their
 * principal id travels with the decision (`decidedBy`), so the run records who approved, as does the promotion's
 * audit event (`approvedBy`).
 */
export async function decidePipeline(
  deps: PipelineDeps,
  tenantId: string,
  id: string,
  body: unknown,
  reviewer: Principal,
): Promise<DecisionOutcome> {
  const parsed = parseWith(decisionRequest, body);
  const found = await findPipeline(deps, tenantId, id);
  if ((await startersOf(deps, tenantId, id, found)).has(reviewer.id))
    throw new ForbiddenError(
      `pipeline ${id} was started by the caller (${reviewer.id}: as its starter, or as the definer, triggerer or ` +
        'backfiller of the schedule that started it): another approver must decide it',
      'self_approval',
    );
  const request: DecisionRequest = { ...parsed, decidedBy: reviewer.id };
  if (found.description.status.name !== 'RUNNING') return recordedOutcome(deps, tenantId, id, found, request);
  const { handle } = found;
  let update: WorkflowUpdateHandle<DecisionOutcome>;
  try {
    update = await handle.client.withDeadline(Date.now() + DECISION_ACCEPT_MS, () =>
      handle.startUpdate(decisionUpdate, {
        args: [request],
        waitForStage: 'ACCEPTED',
        updateId: `decision-${request.decision}`,
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new ConflictError(err.cause?.message ?? err.message, 'not_awaiting_approval');
    // The run ended between the describe and the Update: answer from what it recorded.
    if (err instanceof WorkflowNotFoundError || grpcCodeOf(err)?.details?.includes('already completed'))
      return recordedOutcome(deps, tenantId, id, await findPipeline(deps, tenantId, id), request);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new DependencyUnavailableError(
        'worker',
        `no worker accepted the decision within ${DECISION_ACCEPT_MS / 1000} s (the run's workers are stopped, paused ` +
          'or overloaded). It is not recorded: Temporal may still hand it to a worker that takes the run later, but ' +
          'keeps it durably only once a worker accepts it. Send the same decision again (a decision already applied ' +
          `answers with its outcome); GET /api/v1/pipelines/${id} shows whether the run still awaits approval`,
      );
    const grpc = grpcCodeOf(err);
    if (grpc?.code === GRPC_FAILED_PRECONDITION)
      throw new DependencyUnavailableError(
        'worker',
        `the run's workflow task is failing (${grpc.details ?? 'failed precondition'}), so no worker can take the ` +
          'decision; it was not applied. Send it again once the workers run',
      );
    throw err;
  }
  try {
    return normalised(await handle.client.withDeadline(Date.now() + DECISION_OUTCOME_MS, () => update.result()));
  } catch (err) {
    // A decision the validator refused comes back as the Update's outcome, read here.
    if (err instanceof WorkflowUpdateFailedError)
      throw new ConflictError(err.cause?.message ?? err.message, 'not_awaiting_approval');
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new DependencyUnavailableError(
        'worker',
        `the decision was accepted, but registering and promoting did not finish within ${DECISION_OUTCOME_MS / 1000} s; ` +
          'the run goes on. Send the same decision again for its outcome, or GET /api/v1/pipelines/' +
          id,
      );
    throw err;
  }
}
