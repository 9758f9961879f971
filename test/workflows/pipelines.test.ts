import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TrainingJobInput, TrainingSummary } from '../../common/jobs';
import { decisionUpdate, pipelineStageQuery } from '../../common/messages/pipeline';
import type {
  EvaluateClusteringInput,
  EvaluateInput,
  FullPipelineInput,
  PromoteInput,
  RegisterCandidateInput,
  ValidateDataInput,
} from '../../common/pipelines';
import { fullPipelineWorkflow, validationPipelineWorkflow } from '../../workflows';
import { expectRejects } from '../support/expect-rejects';
import {
  ActivityRecorder,
  evaluateClusteringResultFor,
  evaluateResultFor,
  KilnActivities,
  mockActivities,
  registeredFor,
  trainingInput,
  trainingSummaryFor,
  uniqueQueue,
  validateDataResultFor,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A full pipeline on dataset ds-full with a 20 % seeded holdout, gate accuracy ≥ 0.8, promoting `champion`. */
function fullInput(extra: Partial<FullPipelineInput> = {}): FullPipelineInput {
  return {
    tenantId: 'tenant-p',
    modelName: 'churn-mlp',
    datasetId: 'ds-full',
    holdout: { fraction: 0.2, seed: 7 },
    training: trainingInput({ datasetId: 'ds-full' }),
    gate: { thresholds: [{ metric: 'accuracy', threshold: 0.8, greaterIsBetter: true }], noChampion: 'absolute-only' },
    promote: { alias: 'champion' },
    ...extra,
  };
}

/** An evaluation mock whose champion (version 3) has these metrics. */
function withChampion(recorder: ActivityRecorder, metrics: Record<string, number>): Partial<KilnActivities> {
  return {
    async evaluateCandidate(input: EvaluateInput) {
      recorder.record('evaluateCandidate', input);
      return { ...evaluateResultFor(input), champion: { version: 3, versionId: 'version-3', metrics } };
    },
  };
}

/** A clustering evaluation mock whose champion (version 3) has these metrics. */
function withClusteringChampion(recorder: ActivityRecorder, metrics: Record<string, number>): Partial<KilnActivities> {
  return {
    async evaluateClusteringCandidate(input: EvaluateClusteringInput) {
      recorder.record('evaluateClusteringCandidate', input);
      return { ...evaluateClusteringResultFor(input), champion: { version: 3, versionId: 'version-3', metrics } };
    },
  };
}

/** A full pipeline whose candidate is k-means on x and y (no training), gated on the holdout silhouette. */
function clusteringInput(extra: Partial<FullPipelineInput> = {}): FullPipelineInput {
  const { training: _training, ...rest } = fullInput();
  return {
    ...rest,
    modelName: 'blob-clusters',
    clustering: {
      tenantId: 'tenant-p',
      datasetId: 'ds-full',
      algorithm: 'kmeans',
      params: { k: 3, seed: 1 },
      columns: ['x', 'y'],
    },
    gate: {
      thresholds: [{ metric: 'silhouette', threshold: 0.3, minAbsoluteChange: 0.05, greaterIsBetter: true }],
      noChampion: 'absolute-only',
    },
    ...extra,
  };
}

describe('validation pipelines: every branch of the workflows, with mocked activities', function () {
  let temporal: TestTemporal;
  let queue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    queue = uniqueQueue('pipeline');
    recorder = new ActivityRecorder();
  });

  const startFull = (input: FullPipelineInput) =>
    temporal.env.client.workflow.start(fullPipelineWorkflow, {
      args: [input],
      taskQueue: queue,
      workflowId: `pipeline-full-${randomUUID()}`,
    });

  /** Polls the stage query until the run reaches `stage`. */
  async function waitForStage(handle: { query: (q: typeof pipelineStageQuery) => Promise<string> }, stage: string) {
    for (let i = 0; i < 200; i++) {
      if ((await handle.query(pipelineStageQuery)) === stage) return;
      await sleep(50);
    }
    throw new Error(`never reached stage ${stage}`);
  }

  it('validation only: PASSED with the report id and counts; FAILED_VALIDATION when an error check fails', async () => {
    const failing = mockActivities(recorder, {
      async validateData(input: ValidateDataInput) {
        recorder.record('validateData', input);
        const clean = validateDataResultFor(input);
        return input.datasetId === 'ds-bad'
          ? { ...clean, passed: false, counts: { ...clean.counts, failed: 1, errors: 1 }, blocking: ['drift(x)'] }
          : clean;
      },
    });
    const worker = await workflowWorker(temporal, queue, failing);
    const run = (datasetId: string) =>
      temporal.env.client.workflow.execute(validationPipelineWorkflow, {
        args: [{ tenantId: 'tenant-p', datasetId, referenceDatasetId: 'ds-ref', checks: { psiBins: 5 } }],
        taskQueue: queue,
        workflowId: `pipeline-validation-${randomUUID()}`,
      });
    const [good, bad] = await worker.runUntil(Promise.all([run('ds-good'), run('ds-bad')]));
    expect(good).to.deep.equal({
      kind: 'validation',
      status: 'PASSED',
      reportId: 'report-ds-good',
      counts: { checks: 12, failed: 0, errors: 0, warnings: 0 },
      blocking: [],
    });
    expect(bad).to.include({ status: 'FAILED_VALIDATION', reportId: 'report-ds-bad' });
    expect(bad.blocking).to.deep.equal(['drift(x)']);
    expect(recorder.calls.map((c) => c.input)).to.deep.include({
      tenantId: 'tenant-p',
      datasetId: 'ds-good',
      referenceDatasetId: 'ds-ref',
      checks: { psiBins: 5 },
    });
  });

  it('data fail: stops FAILED_VALIDATION before training; nothing registered or promoted', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        async validateData(input: ValidateDataInput) {
          recorder.record('validateData', input);
          return { ...validateDataResultFor(input), passed: false, blocking: ['dataset_drift'] };
        },
      }),
    );
    const handle = await startFull(fullInput());
    const result = await worker.runUntil(handle.result());
    expect(result).to.include({ kind: 'full', status: 'FAILED_VALIDATION', reportId: 'report-ds-full' });
    expect(recorder.where()).to.deep.equal([`validateData@${queue}`]);
    const described = await handle.describe();
    expect(described.memo).to.include({ stage: 'completed', status: 'FAILED_VALIDATION' });
  });

  it('pass: trains a child on the training part without registering, evaluates on the holdout, registers READY once, promotes', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, withChampion(recorder, { accuracy: 0.85 })),
    );
    const input = fullInput({
      gate: {
        thresholds: [{ metric: 'accuracy', threshold: 0.8, minAbsoluteChange: 0.01, greaterIsBetter: true }],
        noChampion: 'fail',
      },
    });
    const handle = await startFull(input);
    const result = await worker.runUntil(handle.result());
    expect(recorder.where()).to.deep.equal([
      `validateData@${queue}`,
      `trainModel@${queue}`,
      `evaluateCandidate@${queue}`,
      `gateCandidate@${queue}`,
      `registerCandidate@${queue}`,
      `promoteCandidate@${queue}`,
    ]);
    const trained = recorder.calls[1].input as TrainingJobInput;
    expect(trained).to.deep.equal({ ...input.training, datasetId: 'ds-full-train', skipRegistration: true });
    expect(recorder.calls[2].input).to.deep.include({ holdoutDatasetId: 'ds-full-holdout', alias: 'champion' });
    const registered = recorder.calls[4].input as { status: string; pipeline: Record<string, unknown> };
    expect(registered.status).to.equal('READY');
    expect(registered.pipeline).to.include({ reportId: 'report-ds-full', holdoutDatasetId: 'ds-full-holdout' });
    expect(recorder.calls[5].input).to.deep.equal({
      tenantId: 'tenant-p',
      modelName: 'churn-mlp',
      alias: 'champion',
      version: 1,
      expectedCurrentVersionId: 'version-3',
    });
    expect(result.status).to.equal('PROMOTED');
    expect(result.registered).to.deep.equal({ ...registeredFor('churn-mlp'), status: 'READY' });
    expect(result.gate?.results[0]).to.deep.include({
      metric: 'accuracy',
      value: 0.9,
      championValue: 0.85,
      passed: true,
    });
    expect(result.gate!.results[0].delta).to.be.closeTo(0.05, 1e-12);
    expect(result.trainingJobId).to.match(/^training-[0-9a-f-]{36}$/);
    const child = await temporal.env.client.workflow.getHandle(result.trainingJobId!).result();
    expect(child).to.not.have.property('registered');
    expect((await handle.describe()).memo).to.include({ stage: 'completed', status: 'PROMOTED' });
  });

  it('gate fail: registers the candidate FAILED_VALIDATION and promotes nothing', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, withChampion(recorder, { accuracy: 0.95 })),
    );
    const input = fullInput({
      gate: { thresholds: [{ metric: 'accuracy', minAbsoluteChange: 0, greaterIsBetter: true }], noChampion: 'fail' },
    });
    const result = await worker.runUntil((await startFull(input)).result());
    expect(result.status).to.equal('GATE_FAILED');
    expect(recorder.where().at(-1)).to.equal(`registerCandidate@${queue}`);
    expect((recorder.calls.at(-1)!.input as { status: string }).status).to.equal('FAILED_VALIDATION');
    expect(result.promotion).to.equal(undefined);
    expect(result.gate?.results[0]).to.include({ passed: false });
  });

  it('no champion: absolute-only promotes on the threshold; fail registers FAILED_VALIDATION', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const thresholds = [{ metric: 'accuracy', threshold: 0.8, minRelativeChange: 0.05, greaterIsBetter: true }];
    const [absolute, failing] = await worker.runUntil(
      Promise.all([
        startFull(fullInput({ gate: { thresholds, noChampion: 'absolute-only' } })).then((h) => h.result()),
        startFull(fullInput({ gate: { thresholds, noChampion: 'fail' } })).then((h) => h.result()),
      ]),
    );
    expect(absolute.status).to.equal('PROMOTED');
    expect(absolute.gate).to.deep.include({ passed: true, hasChampion: false });
    expect(failing.status).to.equal('GATE_FAILED');
    expect(failing.registered?.status).to.equal('FAILED_VALIDATION');
  });

  it('approval: waits AWAITING_APPROVAL; a decision when not waiting is refused; approve answers with the promotion', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    await worker.runUntil(async () => {
      const handle = await startFull(
        fullInput({ approval: { timeout: '1h', timeoutMs: 3_600_000, onTimeout: 'reject' } }),
      );
      // Too early: the run is still validating or training.
      await expectRejects(handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve' }] }), (err) => {
        expect(err).to.be.instanceOf(WorkflowUpdateFailedError);
        expect((err as WorkflowUpdateFailedError).cause?.message).to.match(/not waiting for approval/);
      });
      await waitForStage(handle, 'awaiting-approval');
      const waiting = await handle.describe();
      expect(waiting.typedSearchAttributes.getAll().find((p) => p.key.name === 'KilnStage')?.value).to.equal(
        'awaiting-approval',
      );
      expect(recorder.where().some((w) => w.startsWith('registerCandidate'))).to.equal(false);
      const outcome = await handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve', comment: 'ok' }] });
      expect(outcome).to.deep.include({ status: 'PROMOTED' });
      expect(outcome.decision).to.include({ decision: 'approve', comment: 'ok', by: 'reviewer' });
      expect(outcome.promotion).to.deep.equal({ alias: 'champion', version: 1 });
      const result = await handle.result();
      expect(result.status).to.equal('PROMOTED');
      // Decided: a second decision is refused.
      await expectRejects(handle.executeUpdate(decisionUpdate, { args: [{ decision: 'reject' }] }), () => undefined);
    });
    expect(
      (recorder.calls.find((c) => c.activity === 'registerCandidate')!.input as { status: string }).status,
    ).to.equal('READY');
  });

  it('approval: reject registers FAILED_VALIDATION without promoting; a timeout lets onTimeout decide', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    await worker.runUntil(async () => {
      const rejected = await startFull(
        fullInput({ approval: { timeout: '1h', timeoutMs: 3_600_000, onTimeout: 'approve' } }),
      );
      await waitForStage(rejected, 'awaiting-approval');
      const outcome = await rejected.executeUpdate(decisionUpdate, { args: [{ decision: 'reject', comment: 'no' }] });
      expect(outcome).to.deep.include({
        status: 'REJECTED',
        registered: { ...registeredFor('churn-mlp'), status: 'FAILED_VALIDATION' },
      });
      expect((await rejected.result()).status).to.equal('REJECTED');

      const [timedOutReject, timedOutApprove] = await Promise.all([
        startFull(fullInput({ approval: { timeout: '2s', timeoutMs: 2000, onTimeout: 'reject' } })).then((h) =>
          h.result(),
        ),
        startFull(fullInput({ approval: { timeout: '2s', timeoutMs: 2000, onTimeout: 'approve' } })).then((h) =>
          h.result(),
        ),
      ]);
      expect(timedOutReject.status).to.equal('REJECTED');
      expect(timedOutReject.decision).to.include({ decision: 'reject', by: 'timeout' });
      expect(timedOutApprove.status).to.equal('PROMOTED');
      expect(timedOutApprove.decision).to.include({ decision: 'approve', by: 'timeout' });
    });
    expect(recorder.calls.filter((c) => c.activity === 'promoteCandidate')).to.have.length(1);
  });

  it('clustering: fits a clustering child on the training part without registering, compares holdout quality, registers and promotes the better one', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, withClusteringChampion(recorder, { silhouette: 0.5, inertia: 40 })),
    );
    const handle = await startFull(clusteringInput());
    const result = await worker.runUntil(handle.result());
    expect(recorder.where()).to.deep.equal([
      `validateData@${queue}`,
      `runClustering@${queue}`,
      `evaluateClusteringCandidate@${queue}`,
      `gateCandidate@${queue}`,
      `registerClusteringCandidate@${queue}`,
      `promoteCandidate@${queue}`,
    ]);
    // No target: the data checks run without target checks.
    expect(recorder.calls[0].input).to.not.have.property('target');
    expect(recorder.calls[1].input).to.deep.equal({ ...clusteringInput().clustering, datasetId: 'ds-full-train' });
    expect(recorder.calls[2].input).to.deep.include({
      holdoutDatasetId: 'ds-full-holdout',
      alias: 'champion',
      candidateArtifactId: 'model-ds-full-train',
      columns: ['x', 'y'],
    });
    const registered = recorder.calls[4].input as { status: string; clustering: unknown };
    expect(registered.status).to.equal('READY');
    expect(registered.clustering).to.deep.equal({ ...clusteringInput().clustering, datasetId: 'ds-full-train' });
    expect(result.status).to.equal('PROMOTED');
    expect(result.gate?.results[0]).to.include({ metric: 'silhouette', value: 0.6, championValue: 0.5, passed: true });
    expect(result.clusteringJobId).to.match(/^clustering-[0-9a-f-]{36}$/);
    expect(result).to.not.have.property('trainingJobId');
    const child = await temporal.env.client.workflow.getHandle(result.clusteringJobId!).result();
    expect(child).to.not.have.property('registered');
    expect(recorder.where().some((w) => w.startsWith('registerClusteringModel'))).to.equal(false);
  });

  it('clustering: a candidate whose holdout quality is worse than the champion is registered FAILED_VALIDATION, not promoted', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, withClusteringChampion(recorder, { silhouette: 0.58, inertia: 20 })),
    );
    const input = clusteringInput({
      gate: {
        thresholds: [
          { metric: 'silhouette', minAbsoluteChange: 0.05, greaterIsBetter: true },
          { metric: 'inertia', minAbsoluteChange: 0, greaterIsBetter: false },
        ],
        noChampion: 'fail',
      },
    });
    const result = await worker.runUntil((await startFull(input)).result());
    expect(result.status).to.equal('GATE_FAILED');
    expect(result.gate?.results.map((r) => [r.metric, r.passed])).to.deep.equal([
      ['silhouette', false],
      ['inertia', false],
    ]);
    expect(recorder.where().at(-1)).to.equal(`registerClusteringCandidate@${queue}`);
    expect((recorder.calls.at(-1)!.input as { status: string }).status).to.equal('FAILED_VALIDATION');
    expect(result.promotion).to.equal(undefined);
  });

  it('a threshold on a metric undefined on the holdout is a failed gate verdict, not a failed run', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        // A one-class holdout: macro precision, recall and F1 are undefined, so evaluation leaves them out.
        async evaluateCandidate(input: EvaluateInput) {
          recorder.record('evaluateCandidate', input);
          return { evaluationId: 'evaluation-1', holdoutRows: 10, candidate: { accuracy: 1, logLoss: 0.01 } };
        },
      }),
    );
    const input = fullInput({
      gate: {
        thresholds: [
          { metric: 'f1', threshold: 0.8, greaterIsBetter: true },
          { metric: 'accuracy', threshold: 0.8, greaterIsBetter: true },
        ],
        noChampion: 'absolute-only',
      },
    });
    const result = await worker.runUntil((await startFull(input)).result());
    expect(result.status).to.equal('GATE_FAILED');
    expect(result.gate?.results[0]).to.include({
      metric: 'f1',
      value: null,
      passed: false,
      reason: 'metric undefined on this holdout',
    });
    expect(result.gate?.results[1]).to.include({ metric: 'accuracy', passed: true });
    expect(result.registered?.status).to.equal('FAILED_VALIDATION');
  });

  it('approval: the same decision sent again while the run registers gets the same outcome; a different one is refused', async () => {
    let release: () => void = () => undefined;
    const registering = new Promise<void>((resolve) => (release = resolve));
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        async registerCandidate(input: RegisterCandidateInput) {
          recorder.record('registerCandidate', input);
          await registering;
          return registeredFor(input.modelName);
        },
      }),
    );
    await worker.runUntil(async () => {
      const handle = await startFull(
        fullInput({ approval: { timeout: '1h', timeoutMs: 3_600_000, onTimeout: 'reject' } }),
      );
      await waitForStage(handle, 'awaiting-approval');
      // The first answer is lost (the API died); the client sends the decision again: a new Update, same decision.
      const first = handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve' }], updateId: 'first' });
      await waitForStage(handle, 'registering');
      const again = handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve' }], updateId: 'again' });
      await expectRejects(
        handle.executeUpdate(decisionUpdate, { args: [{ decision: 'reject' }], updateId: 'other' }),
        (err) => {
          expect(err).to.be.instanceOf(WorkflowUpdateFailedError);
          expect((err as WorkflowUpdateFailedError).cause?.message).to.match(
            /not waiting for approval; it was decided \(approve, by reviewer at /,
          );
        },
      );
      release();
      const [a, b] = await Promise.all([first, again]);
      expect(a).to.deep.equal(b);
      expect(a).to.deep.include({ status: 'PROMOTED', promotion: { alias: 'champion', version: 1 } });
      expect((await handle.result()).status).to.equal('PROMOTED');
    });
    expect(recorder.calls.filter((c) => c.activity === 'registerCandidate')).to.have.length(1);
  });

  it("approval: a promotion refused after the decision answers FAILED with the failure's message and type, the version READY", async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        async promoteCandidate(input: PromoteInput) {
          recorder.record('promoteCandidate', input);
          throw ApplicationFailure.nonRetryable(
            'alias champion moved since the candidate was evaluated (it pointed at nothing, now version 1); nothing was promoted',
            'AliasMoved',
          );
        },
      }),
    );
    await worker.runUntil(async () => {
      const handle = await startFull(
        fullInput({ approval: { timeout: '1h', timeoutMs: 3_600_000, onTimeout: 'reject' } }),
      );
      await waitForStage(handle, 'awaiting-approval');
      const outcome = await handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve' }] });
      expect(outcome).to.deep.include({
        status: 'FAILED',
        registered: { ...registeredFor('churn-mlp'), status: 'READY' },
        error: {
          message:
            'alias champion moved since the candidate was evaluated (it pointed at nothing, now version 1); nothing was promoted',
          type: 'AliasMoved',
        },
      });
      await expectRejects(handle.result(), (err) => expect(err).to.be.instanceOf(WorkflowFailedError));
      expect((await handle.describe()).memo).to.deep.include({
        decision: outcome.decision,
        registered: outcome.registered,
      });
    });
  });

  it('cancel while training cancels the training child and ends CANCELED; cancel while awaiting approval registers nothing', async () => {
    let trainingCancelled = false;
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        // Trains "forever", heartbeating, until cancelled.
        async trainModel(job: TrainingJobInput): Promise<TrainingSummary> {
          const { taskQueue } = recorder.record('trainModel', job);
          if (job.training.epochs !== 999) return trainingSummaryFor(job, taskQueue);
          const ctx = Context.current();
          for (let i = 0; i < 600; i++) {
            ctx.heartbeat({ epoch: i });
            if (ctx.cancellationSignal.aborted) {
              trainingCancelled = true;
              throw ctx.cancellationSignal.reason;
            }
            await sleep(50);
          }
          throw new Error('never cancelled');
        },
      }),
    );
    await worker.runUntil(async () => {
      const training = await startFull(
        fullInput({ training: trainingInput({ training: { epochs: 999, batchSize: 8, learningRate: 0.05 } }) }),
      );
      await waitForStage(training, 'training');
      await sleep(500);
      const childId = (await training.describe()).memo?.trainingJobId as string;
      await training.cancel();
      await expectRejects(training.result(), (err) => {
        expect(err).to.be.instanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      });
      expect((await temporal.env.client.workflow.getHandle(childId).describe()).status.name).to.equal('CANCELLED');

      const waiting = await startFull(
        fullInput({ approval: { timeout: '1h', timeoutMs: 3_600_000, onTimeout: 'approve' } }),
      );
      await waitForStage(waiting, 'awaiting-approval');
      await waiting.cancel();
      await expectRejects(waiting.result(), (err) =>
        expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure),
      );
    });
    expect(trainingCancelled).to.equal(true);
    expect(
      recorder.calls.filter((c) => c.activity === 'registerCandidate' || c.activity === 'promoteCandidate'),
    ).to.deep.equal([]);
  });
});
