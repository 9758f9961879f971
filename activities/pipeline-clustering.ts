import { ApplicationFailure, Context } from '@temporalio/activity';
import { NotFoundError } from '../common/errors';
import type { RegisteredVersionRef } from '../common/jobs';
import type { EvaluateClusteringInput, EvaluateResult, RegisterClusteringCandidateInput } from '../common/pipelines';
import { getArtifactContent } from '../db/artifacts';
import { resolveAlias } from '../db/models';
import { registerModelVersion } from '../db/registry';
import { initComputeBackend } from '../ml/backend';
import { ASSIGNING_FLAVORS, evaluateClusteringModel } from '../ml/evaluation/clustering';
import { EvaluationError } from '../ml/evaluation/evaluate';
import type { ActivityDeps } from './deps';
import { INVALID_JOB_INPUT } from './errors';
import { EVALUATION_FAILED, loadOrFail, pipelineIdOf, storeEvaluation } from './pipelines';

/**
 * The two activities a full pipeline runs differently for a clustering candidate (the rest: validation, gate,
 * promotion, are the MLP pipeline's own, activities/pipelines.ts): evaluation by the quality of each model's labelling
 * of the holdout, and registration of a clustering version.
 */
export function createClusteringPipelineActivities(deps: ActivityDeps) {
  const { pool } = deps;
  return {
    /**
     * Assigns the holdout rows with the candidate and with the version `alias` points at now, measures the quality of
     * each labelling (ml/evaluation/clustering.ts), stores both as the pipeline's evaluation (task `clustering`) and
     * returns its id and the numbers. A champion that cannot assign rows or was fitted on other columns (refused at
     * submit; this catches an alias moved since), a holdout missing a column, or a non-finite metric fails the stage
     * without retries (EVALUATION_FAILED).
     */
    async evaluateClusteringCandidate(input: EvaluateClusteringInput): Promise<EvaluateResult> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'evaluateClusteringCandidate');
      ctx.heartbeat({ stage: 'evaluating', step: 'loading' });
      await initComputeBackend();
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
        const candidate = await evaluateClusteringModel(candidateModel, holdout.table, 'candidate', {
          columns: input.columns,
        });
        let champion: Awaited<ReturnType<typeof evaluateClusteringModel>> | undefined;
        if (holder) {
          const who = `champion (${input.modelName} version ${holder.version}, alias ${input.alias})`;
          if (!ASSIGNING_FLAVORS.includes(holder.flavor) || !holder.artifactId)
            throw new EvaluationError(
              `${who} is a ${holder.flavor} model; a clustering candidate compares with ${ASSIGNING_FLAVORS.join(', ')} models`,
            );
          const championModel = await getArtifactContent(pool, input.tenantId, holder.artifactId);
          if (!championModel)
            throw ApplicationFailure.nonRetryable(
              `${who}: model artifact ${holder.artifactId} is missing`,
              INVALID_JOB_INPUT,
            );
          ctx.heartbeat({ stage: 'evaluating', step: 'champion' });
          champion = await evaluateClusteringModel(championModel, holdout.table, who, { columns: input.columns });
        }
        return await storeEvaluation(deps, pipelineId, input, {
          task: 'clustering',
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

    /**
     * Registers the clustering candidate as a version (flavor: its algorithm), READY or FAILED_VALIDATION, with its
     * params and columns, its quality on the training part and on the holdout, and the pipeline's report, evaluation,
     * gate and decision; exactly once per pipeline (keyed by its workflow id), whatever retries happened.
     */
    async registerClusteringCandidate(req: RegisterClusteringCandidateInput): Promise<RegisteredVersionRef> {
      const ctx = Context.current();
      const pipelineId = pipelineIdOf(ctx, 'registerClusteringCandidate');
      const { summary, clustering } = req;
      if (!summary.modelArtifactId)
        throw ApplicationFailure.nonRetryable(
          `${summary.algorithm} results cannot assign new points, so there is no model to register`,
          INVALID_JOB_INPUT,
        );
      const { version } = await registerModelVersion(pool, {
        tenantId: req.tenantId,
        modelName: req.modelName,
        flavor: summary.algorithm,
        status: req.status,
        params: { ...clustering.params, columns: clustering.columns, pipeline: { id: pipelineId, ...req.pipeline } },
        metrics: {
          ...(summary.inertia !== undefined ? { inertia: summary.inertia } : {}),
          ...(summary.iterations !== undefined ? { iterations: summary.iterations } : {}),
          ...(summary.converged !== undefined ? { converged: summary.converged } : {}),
          clusters: summary.clusters,
          n: summary.n,
          d: summary.d,
          ...summary.quality,
          holdout: req.pipeline.metrics,
        },
        artifactId: summary.modelArtifactId,
        datasetId: summary.datasetId,
        datasetSha256: summary.datasetSha256,
        sourceWorkflowId: pipelineId,
        sourceRunId: ctx.info.workflowExecution!.runId,
        backend: summary.backend,
        actor: `job:${pipelineId}`,
      });
      return { modelName: req.modelName, version: version.version, versionId: version.id };
    },
  };
}
