import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from 'pg';
import { ConflictError, NotFoundError } from '../../common/errors';
import { decisionUpdate } from '../../common/messages/pipeline';
import type { DecisionOutcome, FullPipelineResult, ValidationPipelineResult } from '../../common/pipelines';
import { KilnKind, KilnStage } from '../../common/search-attributes';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getEvaluation, getValidationReport } from '../../db/pipelines';
import { TASK_METRICS } from '../../ml/evaluation/metrics';
import type { Task } from '../../ml/training/spec';
import { DECISION_WAIT_MS, type JobService } from './jobs';
import { decisionRequest } from '../schemas/pipelines';
import { parseWith } from '../schemas/validate';
import { pipelineLinks, TemporalUi } from './accepted';

/** The metrics of `values` in TASK_METRICS order, any others after them. */
function metricOrder(task: string, values: Record<string, number>): string[] {
  const known = Object.keys(TASK_METRICS[task as Task] ?? {});
  return [...known.filter((m) => m in values), ...Object.keys(values).filter((m) => !known.includes(m))];
}

/** The pipeline run behind an id: 404 (field `id`) unless it is a pipeline Kiln started. */
/** What the pipeline read and decision services use (the routers' ApiDeps satisfies it). */
export interface PipelineDeps extends TemporalUi {
  pool: Pool;
  jobs: JobService;
}

async function findPipeline(deps: PipelineDeps, id: string) {
  let found: Awaited<ReturnType<JobService['describeOr404']>>;
  try {
    found = await deps.jobs.describeOr404(id);
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
export async function describePipeline(deps: PipelineDeps, id: string) {
  const { handle, description } = await findPipeline(deps, id);
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
    status = temporalStatus === 'CANCELLED' ? 'CANCELED' : temporalStatus;
    const { kind: _kind, pipeline: _pipeline, status: _status, ...rest } = memo;
    facts = rest;
    error = (await deps.jobs.describe(id)).error;
  }
  const kind = memo.pipeline as string;
  const trainingJobId = facts.trainingJobId as string | undefined;
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
export async function pipelineReport(deps: PipelineDeps, id: string) {
  await findPipeline(deps, id);
  const report = await getValidationReport(deps.pool, DEFAULT_TENANT, id);
  if (!report)
    throw new ConflictError(`pipeline ${id} has no report yet; poll GET /api/v1/pipelines/${id}`, 'report_not_ready');
  const evaluation = await getEvaluation(deps.pool, DEFAULT_TENANT, id);
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

/**
 * POST /api/v1/pipelines/:id/decision: the reviewer's decision, delivered as the workflow's `decision` Update; answers
 * with what followed (registered version, promotion). 409 when the run is not waiting for approval.
 */
export async function decidePipeline(deps: PipelineDeps, id: string, body: unknown): Promise<DecisionOutcome> {
  const request = parseWith(decisionRequest, body);
  const { handle, description } = await findPipeline(deps, id);
  if (description.status.name !== 'RUNNING')
    throw new ConflictError(
      `pipeline ${id} is not waiting for approval: it ended ${description.status.name}`,
      'not_awaiting_approval',
    );
  try {
    // The Update returns once the run has registered (and promoted): longer than a plain call's default deadline.
    return await deps.jobs.withWait(DECISION_WAIT_MS, () => handle.executeUpdate(decisionUpdate, { args: [request] }));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new ConflictError(err.cause?.message ?? err.message, 'not_awaiting_approval');
    throw err;
  }
}
