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
  CandidateRecord,
  Decision,
  DecisionOutcome,
  EvaluateResult,
  FullPipelineInput,
  FullPipelineRefInput,
  FullPipelineResult,
  GateOutcome,
  PromotionRef,
  ValidateDataResult,
} from '../common/pipelines';
import { decisionUpdate } from '../common/messages/pipeline';
import { clusteringWorkflow } from './clustering';
import {
  evaluateCandidate,
  evaluateClusteringCandidate,
  gateCandidate,
  promoteCandidate,
  registerCandidate,
  registerClusteringCandidate,
  validateData,
} from './pipeline-activities';
import { resolveRunDataset } from './dataset-ref';
import { StageTracker } from './pipeline-stage';
import { tenantPrefix } from './tenant-prefix';
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
 * What a client can act on in a failure: the innermost ApplicationFailure of the cause chain (an activity's
 * AliasMoved, not the ActivityFailure "Activity task failed" wrapping it), its message and type.
 */
function failureOf(err: unknown): { message: string; type?: string } {
  let innermost: Error | undefined;
  let application: ApplicationFailure | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 20; e = e.cause, depth++) {
    innermost = e;
    if (e instanceof ApplicationFailure) application = e;
  }
  const root = application ?? innermost;
  if (!root) return { message: String(err) };
  return { message: root.message, ...(application?.type ? { type: application.type } : {}) };
}

/** A trained (or fitted) candidate, evaluated: its job, its metrics next to the champion's, and how to register it. */
interface Candidate {
  /** `{ trainingJobId }` or `{ clusteringJobId }`: the child job, in the memo and the result. */
  job: { trainingJobId: string } | { clusteringJobId: string };
  evaluation: EvaluateResult;
  register(status: 'READY' | 'FAILED_VALIDATION', record: CandidateRecord): Promise<RegisteredVersionRef>;
}

/** Stages 2 and 3 for an MLP: trainingWorkflow as a child (told not to register), then the holdout evaluation. */
async function trainCandidate(
  input: FullPipelineInput,
  validated: ValidateDataResult,
  stages: StageTracker,
): Promise<Candidate> {
  const trainingJobId = `${tenantPrefix()}training-${uuid4()}`;
  await stages.enter('training', { reportId: validated.reportId, counts: validated.counts, trainingJobId });
  const training = { ...input.training!, datasetId: validated.trainDatasetId, skipRegistration: true };
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

  await stages.enter('evaluating');
  const evaluation = await evaluateCandidate({
    tenantId: input.tenantId,
    modelName: input.modelName,
    task: training.spec.task,
    alias: input.promote.alias,
    holdoutDatasetId: validated.holdoutDatasetId!,
    holdout: input.holdout,
    candidateArtifactId: summary.modelArtifactId,
    target: training.target,
  });
  return {
    job: { trainingJobId },
    evaluation,
    register: (status, record) =>
      registerCandidate({
        tenantId: input.tenantId,
        modelName: input.modelName,
        training,
        summary,
        status,
        pipeline: record,
        trainingJobId,
      }),
  };
}

/**
 * Stages 2 and 3 for a clustering model: clusteringWorkflow as a child on the training part (no `register`: the
 * pipeline registers), then both models assign the holdout rows and the quality of each labelling is measured.
 */
async function fitClusteringCandidate(
  input: FullPipelineInput,
  validated: ValidateDataResult,
  stages: StageTracker,
): Promise<Candidate> {
  const clusteringJobId = `${tenantPrefix()}clustering-${uuid4()}`;
  await stages.enter('training', { reportId: validated.reportId, counts: validated.counts, clusteringJobId });
  const { register: _register, ...requested } = input.clustering!;
  const job = { ...requested, datasetId: validated.trainDatasetId };
  const summary = await executeChild(clusteringWorkflow, {
    workflowId: clusteringJobId,
    args: [job],
    memo: {
      kind: 'clustering',
      pipelineId: workflowInfo().workflowId,
      model: input.modelName,
      algorithm: job.algorithm,
      params: job.params,
      dataset: { id: job.datasetId, columns: job.columns.length },
    },
    typedSearchAttributes: [
      keyword('KilnKind', 'clustering'),
      keyword('KilnTenant', input.tenantId),
      keyword('KilnDatasetId', job.datasetId),
      keyword('KilnAlgorithm', job.algorithm),
      keyword('KilnModelName', input.modelName),
    ],
  });
  if (!summary.modelArtifactId)
    throw ApplicationFailure.nonRetryable(`${job.algorithm} results cannot assign new points`, 'InvalidJobInput');

  await stages.enter('evaluating');
  const evaluation = await evaluateClusteringCandidate({
    tenantId: input.tenantId,
    modelName: input.modelName,
    alias: input.promote.alias,
    holdoutDatasetId: validated.holdoutDatasetId!,
    holdout: input.holdout,
    candidateArtifactId: summary.modelArtifactId,
    columns: job.columns,
  });
  return {
    job: { clusteringJobId },
    evaluation,
    register: (status, record) =>
      registerClusteringCandidate({
        tenantId: input.tenantId,
        modelName: input.modelName,
        clustering: job,
        summary,
        status,
        pipeline: record,
      }),
  };
}

/**
 * A full validation pipeline, one stage after another, each visible as the stage query, the memo and the KilnStage
 * search attribute:
 *
 * 1. validating: data checks (and the holdout split) in one activity; a failed error check ends the run
 *    FAILED_VALIDATION before anything trains.
 * 2. training: the candidate's job as a child, told to skip its own registration: trainingWorkflow (`training-<uuid>`,
 *    its checkpoint resume as is) for `input.training`, clusteringWorkflow (`clustering-<uuid>`) for `input.clustering`.
 * 3. evaluating: candidate and current alias holder on the same holdout, in one activity: holdout metrics of an MLP,
 *    or the quality metrics of each clustering model's labelling of the holdout rows.
 * 4. gating: every threshold judged (MLflow semantics, ml/evaluation/gate.ts); a metric undefined on the holdout fails
 *    its threshold.
 * 5. awaiting-approval (when required and the gate passed): waits for the `decision` update, or for the timeout, when
 *    `onTimeout` decides. The reviewer's decision, sent again (a client retrying after a lost answer), is answered
 *    with the same outcome; a different one is refused.
 * 6. registering: the candidate becomes a version every time, READY when promotable, FAILED_VALIDATION when the gate
 *    or the reviewer said no; keyed by this workflow's id.
 * 7. promoting: the alias moves, its previous holder keeps `previous-<alias>`; keyed by this workflow's id. Refused
 *    (AliasMoved) when the alias moved since the evaluation: the run fails, the version stays READY, unpromoted.
 *
 * Cancelling stops the run where it is (a child job is cancelled with it) and promotes nothing. A dataset named by
 * series is resolved before validating (workflows/dataset-ref.ts), for the pipeline and its candidate's job alike.
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
      // A repeat of the reviewer's decision (let through by the validator) waits for the same outcome. `decidedBy` is
      // data of the update: a run from before it has none in its history and replays without it (no patch needed).
      decision ??= {
        decision: request.decision,
        ...(request.comment !== undefined ? { comment: request.comment } : {}),
        by: 'reviewer',
        at: new Date().toISOString(),
        ...(request.decidedBy !== undefined ? { decidedBy: request.decidedBy } : {}),
      };
      await condition(() => finished !== undefined);
      return finished!;
    },
    {
      validator: (request) => {
        const repeat = decision?.by === 'reviewer' && request?.decision === decision.decision;
        if (!repeat && (stages.stage !== 'awaiting-approval' || decision !== undefined)) {
          const decided = decision
            ? `; it was decided (${decision.decision}, by ${decision.by} at ${decision.at})`
            : ` (stage: ${stages.stage})`;
          throw ApplicationFailure.create({
            type: NOT_AWAITING_APPROVAL,
            message: `pipeline ${workflowInfo().workflowId} is not waiting for approval${decided}`,
            nonRetryable: true,
          });
        }
        if (request?.decision !== 'approve' && request?.decision !== 'reject') {
          throw ApplicationFailure.create({ type: 'InvalidDecision', message: 'decision must be approve or reject' });
        }
      },
    },
  );

  await stages.started();

  let input: FullPipelineInput;
  let dataset: ResolvedDataset | undefined;
  if (request.datasetId !== undefined) input = request;
  else {
    const { dataset: ref, training, clustering, ...rest } = request;
    dataset = await resolveRunDataset(request.tenantId, ref);
    const datasetId = dataset.datasetId;
    input = {
      ...rest,
      datasetId,
      ...(training ? { training: { ...training, datasetId } } : {}),
      ...(clustering ? { clustering: { ...clustering, datasetId } } : {}),
    };
  }
  const resolved = dataset ? { dataset } : {};

  const target = input.training?.target;
  const validated = await validateData({
    tenantId: input.tenantId,
    datasetId: input.datasetId,
    ...(input.referenceDatasetId ? { referenceDatasetId: input.referenceDatasetId } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(input.training ? { task: input.training.spec.task } : {}),
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
    await stages.enter('completed', {
      status: 'FAILED_VALIDATION',
      reportId: validated.reportId,
      counts: validated.counts,
    });
    return { ...base, status: 'FAILED_VALIDATION' };
  }

  const candidate = input.clustering
    ? await fitClusteringCandidate(input, validated, stages)
    : await trainCandidate(input, validated, stages);
  const { evaluation } = candidate;
  const metrics = {
    candidate: evaluation.candidate,
    ...(evaluation.champion
      ? { champion: { version: evaluation.champion.version, metrics: evaluation.champion.metrics } }
      : {}),
  };

  await stages.enter('gating', { evaluationId: evaluation.evaluationId, metrics });
  const gate = await gateCandidate({
    tenantId: input.tenantId,
    gate: input.gate,
    candidate: evaluation.candidate,
    ...(evaluation.champion ? { champion: evaluation.champion.metrics } : {}),
  });

  if (gate.passed && input.approval) {
    const deadline = new Date(Date.now() + input.approval.timeoutMs).toISOString();
    await stages.enter('awaiting-approval', {
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
    await stages.enter('registering', { gate: gateMemo(gate), ...(decision ? { decision } : {}) });
    const versionStatus = promotable ? 'READY' : 'FAILED_VALIDATION';
    const ref = await candidate.register(versionStatus, {
      reportId: validated.reportId,
      evaluationId: evaluation.evaluationId,
      holdoutDatasetId: validated.holdoutDatasetId!,
      metrics: evaluation.candidate,
      ...(metrics.champion ? { champion: metrics.champion } : {}),
      gate,
      ...(decision ? { decision } : {}),
    });
    registered = { ...ref, status: versionStatus };
    if (promotable) {
      await stages.enter('promoting', { registered });
      promotion = await promoteCandidate({
        tenantId: input.tenantId,
        modelName: input.modelName,
        alias: input.promote.alias,
        version: ref.version,
        expectedCurrentVersionId: evaluation.champion?.versionId ?? null,
        ...(decision?.decidedBy !== undefined ? { approvedBy: decision.decidedBy } : {}),
      });
    }
  } catch (err) {
    if (decision) {
      finished = { decision, status: 'FAILED', ...(registered ? { registered } : {}), error: failureOf(err) };
      // The decision's caller receives this outcome before the run fails.
      await condition(allHandlersFinished);
    }
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
  await stages.enter('completed', { status, registered, ...(promotion ? { promotion } : {}) });
  // The decision's caller waits for the outcome above; let its handler answer before the run closes.
  await condition(allHandlersFinished);
  return {
    ...base,
    status,
    ...candidate.job,
    evaluationId: evaluation.evaluationId,
    metrics,
    gate,
    ...(decision ? { decision } : {}),
    registered,
    ...(promotion ? { promotion } : {}),
  };
}
