import { ApplicationFailure, Context, sleep } from '@temporalio/activity';
import { NotFoundError } from '../common/errors';
import type { RegisteredVersionRef } from '../common/jobs';
import {
  EvaluateInput,
  EvaluateResult,
  GateInput,
  GateOutcome,
  MAX_BLOCKING_NAMES,
  PromoteInput,
  PromotionRef,
  RegisterCandidateInput,
  ValidateDataInput,
  ValidateDataResult,
} from '../common/pipelines';
import { getArtifactContent } from '../db/artifacts';
import { createDataset, loadDatasetTable } from '../db/datasets';
import { resolveAlias } from '../db/models';
import { saveEvaluation, saveValidationReport, setEvaluationGate } from '../db/pipelines';
import { AliasMovedError, promoteVersion } from '../db/promotion';
import { registerModelVersion } from '../db/registry';
import type { Table } from '../datasets/table';
import { EvaluationError, evaluateTrainedModel } from '../ml/evaluation/evaluate';
import { evaluateGate } from '../ml/evaluation/gate';
import { splitHoldout } from '../ml/evaluation/holdout';
import { runDataValidation } from './data-validation';
import type { ActivityDeps } from './deps';
import { INVALID_JOB_INPUT } from './errors';
import { jobEventWriter } from './job-events';

/** Error type of an evaluation the holdout cannot give (missing column, non-finite metric); not retried. */
export const EVALUATION_FAILED = 'EvaluationFailed';
/** Error type of a promotion refused because the alias moved after the evaluation; not retried. */
export const ALIAS_MOVED = 'AliasMoved';

/** The workflow id of the pipeline an activity runs for (its idempotency key); non-retryable outside a workflow. */
export function pipelineIdOf(ctx: Context, activity: string): string {
  const execution = ctx.info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable(`${activity} runs only inside a pipeline`, INVALID_JOB_INPUT);
  return execution.workflowId;
}

/** A dataset's table, or a non-retryable failure naming its `role` (the, reference, holdout). */
export async function loadOrFail(deps: ActivityDeps, tenantId: string, datasetId: string, role: string) {
  const loaded = await loadDatasetTable(deps.pool, tenantId, datasetId);
  if (!loaded) throw ApplicationFailure.nonRetryable(`${role} dataset ${datasetId} does not exist`, INVALID_JOB_INPUT);
  return loaded;
}

/** Stores one part of a split dataset (content addressed: a retry finds the dataset its earlier attempt stored). */
async function storePart(deps: ActivityDeps, tenantId: string, name: string, table: Table): Promise<string> {
  const { dataset } = await createDataset(deps.pool, { tenantId, name, sourceFormat: 'json', table });
  return dataset.id;
}

/** What an evaluation compared: the task, the holdout's size, the champion's version, and each model's numbers. */
export interface EvaluationOutcome {
  task: string;
  holdoutRows: number;
  holder?: { id: string; version: number };
  candidate: { metrics: Record<string, number>; details: unknown };
  champion?: { metrics: Record<string, number>; details: unknown };
}

/**
 * Stores a pipeline's evaluation (one row per pipeline: a retry overwrites its own) and returns what the workflow
 * carries: the row's id and the metric numbers, never the tables. Shared by the MLP and the clustering evaluations.
 */
export async function storeEvaluation(
  deps: ActivityDeps,
  pipelineId: string,
  input: Pick<
    EvaluateInput,
    'tenantId' | 'modelName' | 'alias' | 'holdoutDatasetId' | 'holdout' | 'candidateArtifactId'
  >,
  outcome: EvaluationOutcome,
): Promise<EvaluateResult> {
  const { holder, candidate, champion } = outcome;
  const stored = await saveEvaluation(deps.pool, {
    tenantId: input.tenantId,
    pipelineId,
    modelName: input.modelName,
    task: outcome.task,
    holdoutDatasetId: input.holdoutDatasetId,
    holdoutRows: outcome.holdoutRows,
    holdout: input.holdout,
    candidateArtifactId: input.candidateArtifactId,
    championAlias: input.alias,
    ...(holder ? { champion: { versionId: holder.id, version: holder.version } } : {}),
    candidateMetrics: candidate.metrics,
    ...(champion ? { championMetrics: champion.metrics } : {}),
    details: { candidate: candidate.details, ...(champion ? { champion: champion.details } : {}) },
  });
  return {
    evaluationId: stored.id,
    holdoutRows: outcome.holdoutRows,
    candidate: candidate.metrics,
    ...(holder && champion
      ? { champion: { version: holder.version, versionId: holder.id, metrics: champion.metrics } }
      : {}),
  };
}

/** The activities of the validation pipelines (workflows/pipelines.ts), each keyed by its pipeline's workflow id. */
export function createPipelineActivities(deps: ActivityDeps) {
  const { pool } = deps;
  return {
    /**
     * Loads the dataset (and the reference and holdout), splits off a fractional holdout when asked (both parts stored
     * as datasets), runs the data checks (ml/validation) and stores the report. Returns ids and counts only.
     */
    async validateData(input: ValidateDataInput): Promise<ValidateDataResult> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'validateData');
      ctx.heartbeat({ stage: 'validating', step: 'loading' });
      const loaded = await loadOrFail(deps, input.tenantId, input.datasetId, 'the');
      const reference = input.referenceDatasetId
        ? await loadOrFail(deps, input.tenantId, input.referenceDatasetId, 'reference')
        : undefined;
      let table = loaded.table;
      let trainDatasetId = input.datasetId;
      let holdoutTable: Table | undefined;
      let holdoutDatasetId: string | undefined;
      if (input.holdout && 'datasetId' in input.holdout) {
        const holdout = await loadOrFail(deps, input.tenantId, input.holdout.datasetId, 'holdout');
        holdoutTable = holdout.table;
        holdoutDatasetId = input.holdout.datasetId;
      } else if (input.holdout) {
        const { fraction, seed } = input.holdout;
        let parts: ReturnType<typeof splitHoldout>;
        try {
          parts = splitHoldout(loaded.table, fraction, seed);
        } catch (err) {
          throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_INPUT);
        }
        const base = `${loaded.meta.name} (holdout fraction ${fraction}, seed ${seed})`;
        trainDatasetId = await storePart(deps, input.tenantId, `${base}: training part`, parts.train);
        holdoutDatasetId = await storePart(deps, input.tenantId, `${base}: holdout`, parts.holdout);
        // What is validated is what will train; the holdout is checked for rows it shares with it.
        table = parts.train;
        holdoutTable = parts.holdout;
      }
      ctx.heartbeat({ stage: 'validating', step: 'checking' });
      let validation: ReturnType<typeof runDataValidation>;
      try {
        validation = runDataValidation({
          table,
          ...(reference ? { reference: reference.table } : {}),
          ...(holdoutTable ? { holdout: holdoutTable } : {}),
          ...(input.target !== undefined ? { target: input.target } : {}),
          ...(input.task ? { task: input.task } : {}),
          ...(input.checks ? { options: input.checks } : {}),
        });
      } catch (err) {
        if (err instanceof RangeError) throw ApplicationFailure.nonRetryable(err.message, INVALID_JOB_INPUT);
        throw err;
      }
      const { report, counts, passed } = validation;
      const stored = await saveValidationReport(pool, {
        tenantId: input.tenantId,
        pipelineId,
        datasetId: input.datasetId,
        ...(input.referenceDatasetId ? { referenceDatasetId: input.referenceDatasetId } : {}),
        ...(holdoutDatasetId ? { holdoutDatasetId } : {}),
        report: {
          ...report,
          scope: table === loaded.table ? 'dataset' : 'training part',
          ...(trainDatasetId !== input.datasetId ? { trainDatasetId } : {}),
        },
        counts,
        passed,
      });
      const named = (c: (typeof report.checks)[number]) => (c.column !== undefined ? `${c.name}(${c.column})` : c.name);
      const blocking = report.checks
        .filter((c) => !c.passed && c.severity === 'error')
        .map(named)
        .slice(0, MAX_BLOCKING_NAMES);
      const warned = report.checks.filter((c) => !c.passed && c.severity === 'warn').map(named);
      if (warned.length > 0) {
        const shown = warned.slice(0, MAX_BLOCKING_NAMES);
        const more = warned.length > shown.length ? ` and ${warned.length - shown.length} more` : '';
        await jobEventWriter(pool, ctx).append(
          'warning',
          { message: `data checks warned: ${shown.join(', ')}${more}`, checks: shown },
          'warning:data-checks',
        );
      }
      return {
        reportId: stored.id,
        passed,
        counts,
        blocking,
        trainDatasetId,
        ...(holdoutDatasetId ? { holdoutDatasetId, holdoutRows: holdoutTable!.rows } : {}),
      };
    },

    /**
     * Evaluates the candidate and the version `alias` points at now on the same holdout, stores both sides' metrics as
     * the pipeline's evaluation, and returns its id and the metric numbers. A holdout that cannot evaluate a model, a
     * champion of another flavor, task or target (the API refuses those at submit; this catches an alias moved since),
     * or a non-finite metric, fails the stage without retries (EVALUATION_FAILED).
     */
    async evaluateCandidate(input: EvaluateInput): Promise<EvaluateResult> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'evaluateCandidate');
      ctx.heartbeat({ stage: 'evaluating', step: 'loading' });
      // Test hook (deps.evaluationDelayMs): wait, heartbeating, so a test can kill the worker mid-stage.
      const delayMs = deps.evaluationDelayMs ?? 0;
      for (let waited = 0; delayMs > 0 && waited < delayMs; waited += 500) {
        await sleep(500);
        ctx.heartbeat({ stage: 'evaluating', step: 'loading' });
      }
      const holdout = await loadOrFail(deps, input.tenantId, input.holdoutDatasetId, 'holdout');
      const candidateModel = await getArtifactContent(pool, input.tenantId, input.candidateArtifactId);
      if (!candidateModel)
        throw ApplicationFailure.nonRetryable(
          `candidate model artifact ${input.candidateArtifactId} is missing`,
          INVALID_JOB_INPUT,
        );
      const holder = await resolveAlias(pool, input.tenantId, input.modelName, input.alias).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      try {
        ctx.heartbeat({ stage: 'evaluating', step: 'candidate' });
        const candidate = await evaluateTrainedModel(candidateModel, holdout.table, 'candidate');
        let champion: Awaited<ReturnType<typeof evaluateTrainedModel>> | undefined;
        if (holder) {
          const who = `champion (${input.modelName} version ${holder.version}, alias ${input.alias})`;
          if (holder.flavor !== `mlp-${input.task}` || !holder.artifactId)
            throw new EvaluationError(`${who} is a ${holder.flavor} model; the candidate is mlp-${input.task}`);
          const championModel = await getArtifactContent(pool, input.tenantId, holder.artifactId);
          if (!championModel)
            throw ApplicationFailure.nonRetryable(
              `${who}: model artifact ${holder.artifactId} is missing`,
              INVALID_JOB_INPUT,
            );
          ctx.heartbeat({ stage: 'evaluating', step: 'champion' });
          champion = await evaluateTrainedModel(championModel, holdout.table, who, {
            task: input.task,
            ...(input.target !== undefined ? { target: input.target } : {}),
          });
        }
        return await storeEvaluation(deps, pipelineId, input, {
          task: input.task,
          holdoutRows: holdout.table.rows,
          ...(holder ? { holder } : {}),
          candidate,
          ...(champion ? { champion } : {}),
        });
      } catch (err) {
        if (err instanceof EvaluationError) throw ApplicationFailure.nonRetryable(err.message, EVALUATION_FAILED);
        throw err;
      }
    },

    /** Judges the candidate against every threshold (ml/evaluation/gate.ts) and records the verdict with the evaluation. */
    async gateCandidate(input: GateInput): Promise<GateOutcome> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'gateCandidate');
      const gate = evaluateGate(input.gate.thresholds, input.candidate, input.champion, input.gate.noChampion);
      await setEvaluationGate(pool, input.tenantId, pipelineId, gate);
      const outcome: GateOutcome = {
        passed: gate.passed,
        hasChampion: gate.hasChampion,
        results: gate.results.map((r) => ({
          metric: r.metric,
          greaterIsBetter: r.greaterIsBetter,
          value: r.value,
          championValue: r.championValue,
          delta: r.delta,
          relativeDelta: r.relativeDelta,
          passed: r.passed,
          ...(r.reason ? { reason: r.reason } : {}),
        })),
        ...(gate.reason ? { reason: gate.reason } : {}),
      };
      await jobEventWriter(pool, ctx).append('gate', { ...outcome }, 'gate');
      return outcome;
    },

    /**
     * Registers the candidate as a version, READY or FAILED_VALIDATION, with the pipeline's report, evaluation, gate
     * and decision in its params; exactly once per pipeline (keyed by its workflow id), whatever retries happened.
     */
    async registerCandidate(req: RegisterCandidateInput): Promise<RegisteredVersionRef> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'registerCandidate');
      const { summary, training } = req;
      const history = await getArtifactContent(pool, req.tenantId, summary.historyArtifactId);
      const { version } = await registerModelVersion(pool, {
        tenantId: req.tenantId,
        modelName: req.modelName,
        flavor: `mlp-${summary.task}`,
        status: req.status,
        params: {
          target: training.target,
          features: training.features,
          spec: training.spec,
          training: training.training,
          pipeline: { id: pipelineId, ...req.pipeline },
        },
        metrics: {
          ...summary.finalMetrics,
          holdout: req.pipeline.metrics,
          epochsRun: summary.epochsRun,
          attempts: summary.attempts,
          durationMs: summary.durationMs,
          history: history ? (JSON.parse(history.toString('utf8')) as unknown) : [],
        },
        artifactId: summary.modelArtifactId,
        datasetId: summary.datasetId,
        datasetSha256: summary.datasetSha256,
        sourceWorkflowId: pipelineId,
        sourceRunId: ctx.info.workflowExecution!.runId,
        backend: summary.backend,
        actor: `job:${pipelineId}`,
        // The training child's events hold the curves (runs from before the id rode along have none).
        ...(req.trainingJobId ? { trainingJobId: req.trainingJobId } : {}),
      });
      return { modelName: req.modelName, version: version.version, versionId: version.id };
    },

    /** Moves the alias to the candidate, the previous holder to previous-<alias>, once per pipeline (db/promotion.ts). */
    async promoteCandidate(req: PromoteInput): Promise<PromotionRef> {
      const pipelineId = pipelineIdOf(Context.current(), 'promoteCandidate');
      try {
        const { moved: _moved, ...promotion } = await promoteVersion(pool, {
          ...req,
          pipelineId,
          actor: `job:${pipelineId}`,
        });
        return promotion;
      } catch (err) {
        if (err instanceof AliasMovedError) throw ApplicationFailure.nonRetryable(err.message, ALIAS_MOVED);
        throw err;
      }
    },
  };
}
