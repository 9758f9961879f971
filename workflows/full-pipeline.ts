import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  executeChild,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { RegisteredVersionRef } from '../common/jobs';
import type { ResolvedDataset } from '../common/dataset-ref';
import type {
  Decision,
  DecisionOutcome,
  FullPipelineInput,
  FullPipelineRefInput,
  FullPipelineResult,
  GateOutcome,
  PromotionRef,
} from '../common/pipelines';
import { decisionUpdate } from '../common/messages/pipeline';
import {
  evaluateCandidate,
  gateCandidate,
  promoteCandidate,
  registerCandidate,
  validateData,
} from './pipeline-activities';
import { resolveRunDataset } from './dataset-ref';
import { StageTracker } from './pipeline-stage';
import { trainingWorkflow } from './training';

/** Error type of a decision sent to a run that is not waiting for one (the API answers 409). */
export const NOT_AWAITING_APPROVAL = 'NotAwaitingApproval';

/** Kiln's search attributes for the training child (keys spelled out: workflow code cannot import their module). */
function keyword(name: string, value: string): SearchAttributePair {
  return { key: { name, type: 'KEYWORD' }, value };
}

/** The gate's verdict in the memo: passed, and each threshold's metric and outcome. */
function gateMemo(gate: GateOutcome) {
  return { passed: gate.passed, failed: gate.results.filter((r) => !r.passed).map((r) => r.metric) };
}

/**
 * A full validation pipeline, one stage after another, each visible as the stage query, the memo and the KilnStage
 * search attribute:
 *
 * 1. validating: data checks (and the holdout split) in one activity; a failed error check ends the run
 *    FAILED_VALIDATION before anything trains.
 * 2. training: trainingWorkflow as a child (`training-<uuid>`, its checkpoint resume as is), told to skip its own
 *    registration.
 * 3. evaluating: candidate and current alias holder on the same holdout, in one activity.
 * 4. gating: every threshold judged (MLflow semantics, ml/evaluation/gate.ts).
 * 5. awaiting-approval (when required and the gate passed): waits for the `decision` update, or for the timeout, when
 *    `onTimeout` decides.
 * 6. registering: the candidate becomes a version every time, READY when promotable, FAILED_VALIDATION when the gate
 *    or the reviewer said no; keyed by this workflow's id.
 * 7. promoting: the alias moves, its previous holder keeps `previous-<alias>`; keyed by this workflow's id.
 *
 * Cancelling stops the run where it is (a training child is cancelled with it) and promotes nothing. A dataset named by
 * series is resolved before validating (workflows/dataset-ref.ts), for the pipeline and its training job alike.
 */
export async function fullPipelineWorkflow(
  request: FullPipelineInput | FullPipelineRefInput,
): Promise<FullPipelineResult> {
  const stages = new StageTracker('validating');
  let decision: Decision | undefined;
  let finished: DecisionOutcome | undefined;
  setHandler(
    decisionUpdate,
    async (request) => {
      decision = {
        decision: request.decision,
        ...(request.comment !== undefined ? { comment: request.comment } : {}),
        by: 'reviewer',
        at: new Date().toISOString(),
      };
      await condition(() => finished !== undefined);
      return finished!;
    },
    {
      validator: (request) => {
        if (stages.stage !== 'awaiting-approval' || decision !== undefined) {
          throw ApplicationFailure.create({
            type: NOT_AWAITING_APPROVAL,
            message: `pipeline ${workflowInfo().workflowId} is not waiting for approval (stage: ${stages.stage})`,
            nonRetryable: true,
          });
        }
        if (request?.decision !== 'approve' && request?.decision !== 'reject') {
          throw ApplicationFailure.create({ type: 'InvalidDecision', message: 'decision must be approve or reject' });
        }
      },
    },
  );

  let input: FullPipelineInput;
  let dataset: ResolvedDataset | undefined;
  if (request.datasetId !== undefined) input = request;
  else {
    const { dataset: ref, training, ...rest } = request;
    dataset = await resolveRunDataset(request.tenantId, ref);
    input = { ...rest, datasetId: dataset.datasetId, training: { ...training, datasetId: dataset.datasetId } };
  }
  const resolved = dataset ? { dataset } : {};

  const validated = await validateData({
    tenantId: input.tenantId,
    datasetId: input.datasetId,
    ...(input.referenceDatasetId ? { referenceDatasetId: input.referenceDatasetId } : {}),
    target: input.training.target,
    task: input.training.spec.task,
    ...(input.checks ? { checks: input.checks } : {}),
    holdout: input.holdout,
  });
  const base = {
    kind: 'full' as const,
    reportId: validated.reportId,
    counts: validated.counts,
    blocking: validated.blocking,
    ...resolved,
  };
  if (!validated.passed) {
    stages.enter('completed', { status: 'FAILED_VALIDATION', reportId: validated.reportId, counts: validated.counts });
    return { ...base, status: 'FAILED_VALIDATION' };
  }

  const trainingJobId = `training-${uuid4()}`;
  stages.enter('training', { reportId: validated.reportId, counts: validated.counts, trainingJobId });
  const training = { ...input.training, datasetId: validated.trainDatasetId, skipRegistration: true };
  const summary = await executeChild(trainingWorkflow, {
    workflowId: trainingJobId,
    args: [training],
    memo: {
      kind: 'training',
      pipelineId: workflowInfo().workflowId,
      model: input.modelName,
      task: training.spec.task,
      dataset: { id: training.datasetId },
      target: training.target,
      epochs: training.training.epochs,
    },
    typedSearchAttributes: [
      keyword('KilnKind', 'training'),
      keyword('KilnTenant', input.tenantId),
      keyword('KilnDatasetId', training.datasetId),
      keyword('KilnModelName', input.modelName),
    ],
  });

  stages.enter('evaluating');
  const evaluation = await evaluateCandidate({
    tenantId: input.tenantId,
    modelName: input.modelName,
    task: training.spec.task,
    alias: input.promote.alias,
    holdoutDatasetId: validated.holdoutDatasetId!,
    holdout: input.holdout,
    candidateArtifactId: summary.modelArtifactId,
  });
  const metrics = {
    candidate: evaluation.candidate,
    ...(evaluation.champion
      ? { champion: { version: evaluation.champion.version, metrics: evaluation.champion.metrics } }
      : {}),
  };

  stages.enter('gating', { evaluationId: evaluation.evaluationId, metrics });
  const gate = await gateCandidate({
    tenantId: input.tenantId,
    gate: input.gate,
    candidate: evaluation.candidate,
    ...(evaluation.champion ? { champion: evaluation.champion.metrics } : {}),
  });

  if (gate.passed && input.approval) {
    const deadline = new Date(Date.now() + input.approval.timeoutMs).toISOString();
    stages.enter('awaiting-approval', {
      gate: gateMemo(gate),
      approval: { timeout: input.approval.timeout, onTimeout: input.approval.onTimeout, deadline },
    });
    const decided = await condition(() => decision !== undefined, input.approval.timeoutMs);
    if (!decided) decision = { decision: input.approval.onTimeout, by: 'timeout', at: new Date().toISOString() };
  }
  const promotable = gate.passed && (decision === undefined || decision.decision === 'approve');
  const status = promotable ? 'PROMOTED' : gate.passed ? 'REJECTED' : 'GATE_FAILED';

  let registered: (RegisteredVersionRef & { status: 'READY' | 'FAILED_VALIDATION' }) | undefined;
  let promotion: PromotionRef | undefined;
  try {
    stages.enter('registering', { gate: gateMemo(gate), ...(decision ? { decision } : {}) });
    const versionStatus = promotable ? 'READY' : 'FAILED_VALIDATION';
    const ref = await registerCandidate({
      tenantId: input.tenantId,
      modelName: input.modelName,
      training,
      summary,
      status: versionStatus,
      pipeline: {
        reportId: validated.reportId,
        evaluationId: evaluation.evaluationId,
        holdoutDatasetId: validated.holdoutDatasetId!,
        metrics: evaluation.candidate,
        ...(metrics.champion ? { champion: metrics.champion } : {}),
        gate,
        ...(decision ? { decision } : {}),
      },
    });
    registered = { ...ref, status: versionStatus };
    if (promotable) {
      stages.enter('promoting', { registered });
      promotion = await promoteCandidate({
        tenantId: input.tenantId,
        modelName: input.modelName,
        alias: input.promote.alias,
        version: ref.version,
        expectedCurrentVersionId: evaluation.champion?.versionId ?? null,
      });
    }
  } catch (err) {
    if (decision) finished = { decision, status: 'FAILED', error: (err as Error).message };
    throw err;
  }
  if (decision) {
    finished = {
      decision,
      status: promotable ? 'PROMOTED' : 'REJECTED',
      registered,
      ...(promotion ? { promotion } : {}),
    };
  }
  stages.enter('completed', { status, registered, ...(promotion ? { promotion } : {}) });
  // The decision's caller waits for the outcome above; let its handler answer before the run closes.
  await condition(allHandlersFinished);
  return {
    ...base,
    status,
    trainingJobId,
    evaluationId: evaluation.evaluationId,
    metrics,
    gate,
    ...(decision ? { decision } : {}),
    registered,
    ...(promotion ? { promotion } : {}),
  };
}
