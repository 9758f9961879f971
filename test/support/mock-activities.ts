import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { createActivities } from '../../activities';
import type {
  BatchPredictJobInput,
  BatchPredictResult,
  ClusteringJobInput,
  ClusteringSummary,
  ComputeRoute,
  RegisteredVersionRef,
  TrainingJobInput,
  TrainingSummary,
} from '../../common/jobs';
import type {
  EvaluateClusteringInput,
  EvaluateInput,
  EvaluateResult,
  ValidateDataInput,
  ValidateDataResult,
} from '../../common/pipelines';
import { evaluateGate } from '../../ml/evaluation/gate';
import { TestTemporal } from './test-temporal';

/**
 * Stand-ins for Kiln's activities, for workflow tests without a database: same names and signatures as the real ones
 * (typed against createActivities, so a rename fails the build), deterministic results derived from the input, and a
 * record of every call with the task queue it was taken from.
 */
export type KilnActivities = ReturnType<typeof createActivities>;

/** One activity execution as a mock saw it. */
export interface ActivityCall {
  activity: keyof KilnActivities;
  taskQueue: string;
  attempt: number;
  input: unknown;
}

/** Every call the mocks of one test received, in the order they started. */
export class ActivityRecorder {
  readonly calls: ActivityCall[] = [];

  /** Records a call from inside an activity (the task queue and attempt come from its context). */
  record(activity: keyof KilnActivities, input: unknown): { taskQueue: string } {
    const { taskQueue, attempt } = Context.current().info;
    this.calls.push({ activity, taskQueue, attempt, input });
    return { taskQueue };
  }

  /** `activity@taskQueue` per call: what ran where, at a glance (and in a failing assertion's diff). */
  where(): string[] {
    return this.calls.map((c) => `${c.activity}@${c.taskQueue}`);
  }
}

/** A small classification training job on a dataset id, with `extra` (a route, another model name) on top. */
export function trainingInput(extra: Partial<TrainingJobInput> = {}): TrainingJobInput {
  return {
    tenantId: 'tenant-t',
    datasetId: 'ds-train',
    target: 'label',
    features: ['x', 'y'],
    model: { name: 'churn-mlp' },
    spec: { task: 'classification', layers: [{ units: 4, activation: 'relu' }] },
    training: { epochs: 3, batchSize: 8, learningRate: 0.05 },
    ...extra,
  };
}

/** What the mock clustering returns for an input on a queue: ranOn names the queue, so a result shows where it ran. */
export function clusteringSummaryFor(input: ClusteringJobInput, taskQueue: string): ClusteringSummary {
  return {
    algorithm: input.algorithm,
    datasetId: input.datasetId,
    datasetSha256: `sha-${input.datasetId}`,
    n: 40,
    d: 2,
    k: 2,
    clusters: 2,
    clusterSizes: [20, 20],
    quality: { silhouette: 0.9 },
    backend: 'cpu',
    ranOn: { pool: 'mock', taskQueue },
    timings: { loadMs: 1, computeMs: 2, qualityMs: 3, storeMs: 4 },
    resultArtifactId: `result-${input.datasetId}`,
    modelArtifactId: `model-${input.datasetId}`,
  };
}

export function trainingSummaryFor(input: TrainingJobInput, taskQueue: string): TrainingSummary {
  return {
    datasetId: input.datasetId,
    datasetSha256: `sha-${input.datasetId}`,
    task: input.spec.task,
    epochsRun: input.training.epochs,
    stoppedEarly: false,
    attempts: [{ attempt: 1, resumedFromEpoch: 0 }],
    finalMetrics: { loss: 0.1 },
    historyArtifactId: `history-${input.datasetId}`,
    modelArtifactId: `mlp-${input.datasetId}`,
    backend: 'cpu',
    ranOn: { pool: 'mock', taskQueue },
    durationMs: 5,
  };
}

export function batchPredictResultFor(input: BatchPredictJobInput, taskQueue: string): BatchPredictResult {
  return {
    modelName: input.modelName,
    version: input.version,
    datasetId: input.datasetId,
    rows: 40,
    predictionsArtifactId: `predictions-${input.datasetId}`,
    backend: 'cpu',
    ranOn: { pool: 'mock', taskQueue },
    durationMs: 6,
  };
}

/** The version every mock registration hands back. */
export function registeredFor(modelName: string): RegisteredVersionRef {
  return { modelName, version: 1, versionId: `version-${modelName}` };
}

/** What the mock validation returns: a clean report; a fractional holdout splits into `<id>-train` and `<id>-holdout`. */
export function validateDataResultFor(input: ValidateDataInput): ValidateDataResult {
  const holdoutDatasetId = input.holdout
    ? 'datasetId' in input.holdout
      ? input.holdout.datasetId
      : `${input.datasetId}-holdout`
    : undefined;
  return {
    reportId: `report-${input.datasetId}`,
    passed: true,
    counts: { checks: 12, failed: 0, errors: 0, warnings: 0 },
    blocking: [],
    trainDatasetId: input.holdout && !('datasetId' in input.holdout) ? `${input.datasetId}-train` : input.datasetId,
    ...(holdoutDatasetId ? { holdoutDatasetId, holdoutRows: 10 } : {}),
  };
}

/** What the mock evaluation returns: a candidate with accuracy 0.9 and no champion. */
export function evaluateResultFor(input: EvaluateInput): EvaluateResult {
  return {
    evaluationId: `evaluation-${input.candidateArtifactId}`,
    holdoutRows: 10,
    candidate: { accuracy: 0.9, precision: 0.9, recall: 0.9, f1: 0.9, logLoss: 0.3 },
  };
}

/** What the mock clustering evaluation returns: a candidate with silhouette 0.6 and no champion. */
export function evaluateClusteringResultFor(input: EvaluateClusteringInput): EvaluateResult {
  return {
    evaluationId: `evaluation-${input.candidateArtifactId}`,
    holdoutRows: 10,
    candidate: { silhouette: 0.6, daviesBouldin: 0.5, calinskiHarabasz: 120, inertia: 30 },
  };
}

/** Every Kiln activity as a recording mock; `overrides` replace single ones (their calls are theirs to record). */
export function mockActivities(recorder: ActivityRecorder, overrides: Partial<KilnActivities> = {}): KilnActivities {
  return {
    async runClustering(input) {
      return clusteringSummaryFor(input, recorder.record('runClustering', input).taskQueue);
    },
    async registerClusteringModel(input) {
      recorder.record('registerClusteringModel', input);
      return registeredFor(input.modelName);
    },
    async trainModel(input) {
      return trainingSummaryFor(input, recorder.record('trainModel', input).taskQueue);
    },
    async registerTrainedModel(input) {
      recorder.record('registerTrainedModel', input);
      return registeredFor(input.modelName);
    },
    async predictDataset(input) {
      return batchPredictResultFor(input, recorder.record('predictDataset', input).taskQueue);
    },
    async validateData(input) {
      recorder.record('validateData', input);
      return validateDataResultFor(input);
    },
    async evaluateCandidate(input) {
      recorder.record('evaluateCandidate', input);
      return evaluateResultFor(input);
    },
    // The real gate (pure): the workflow's branches follow from the metrics the evaluation mock returned.
    async gateCandidate(input) {
      recorder.record('gateCandidate', input);
      const gate = evaluateGate(input.gate.thresholds, input.candidate, input.champion, input.gate.noChampion);
      return {
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
    },
    async registerCandidate(input) {
      recorder.record('registerCandidate', input);
      return registeredFor(input.modelName);
    },
    async evaluateClusteringCandidate(input) {
      recorder.record('evaluateClusteringCandidate', input);
      return evaluateClusteringResultFor(input);
    },
    async registerClusteringCandidate(input) {
      recorder.record('registerClusteringCandidate', input);
      return registeredFor(input.modelName);
    },
    // A series resolves to `ds-<name>-v<n>`: version numbers as asked, `latest` and `asOf` to version 1.
    async resolveDatasetRef(input) {
      recorder.record('resolveDatasetRef', input);
      const version = typeof input.ref.version === 'number' ? input.ref.version : 1;
      const datasetId = `ds-${input.ref.name}-v${version}`;
      return {
        name: input.ref.name,
        version,
        datasetId,
        sha256: `sha-${datasetId}`,
        rows: 40,
        createdAt: '2026-01-01T00:00:00.000Z',
        ...(typeof input.ref.version === 'number' ? {} : { asOf: input.asOf }),
      };
    },
    async promoteCandidate(input) {
      recorder.record('promoteCandidate', input);
      return { alias: input.alias, version: input.version };
    },
    // Stage events go to a log these tests have no database for; not recorded, so call lists show the work only.
    async recordPipelineStage() {},
    ...overrides,
  };
}

/** A task queue no other test uses, so tests share one server without taking each other's tasks. */
export function uniqueQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

/** An `any` route: `gpuQueue` first, `cpuQueue` after `afterSeconds` without a worker starting it there. */
export function anyRoute(gpuQueue: string, cpuQueue: string, afterSeconds = 1): ComputeRoute {
  return { taskQueue: gpuQueue, fallback: { taskQueue: cpuQueue, afterSeconds } };
}

/** A worker like the CPU pool's: Kiln's workflows (the shared bundle) and the given activities on `taskQueue`. */
export function workflowWorker(temporal: TestTemporal, taskQueue: string, activities: object): Promise<Worker> {
  return Worker.create({
    connection: temporal.env.nativeConnection,
    namespace: temporal.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: temporal.workflowBundle,
    activities,
  });
}

/** A worker like a GPU pool's as far as routing goes: activities only (workflows stay on the CPU pool). */
export function activityWorker(temporal: TestTemporal, taskQueue: string, activities: object): Promise<Worker> {
  return Worker.create({
    connection: temporal.env.nativeConnection,
    namespace: temporal.env.namespace ?? 'default',
    taskQueue,
    activities,
  });
}
