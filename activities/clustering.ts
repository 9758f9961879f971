import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  ClusteringJobInput,
  ClusteringParams,
  ClusteringQuality,
  ClusteringSummary,
  MAX_SUMMARY_CLUSTERS,
  RegisteredVersionRef,
} from '../common/jobs';
import { numericMatrix } from '../datasets/encode';
import { Table } from '../datasets/table';
import { putArtifact } from '../db/artifacts';
import { loadDatasetTable } from '../db/datasets';
import { registerModelVersion } from '../db/registry';
import { initComputeBackend } from '../ml/backend';
import { clusteringQuality } from '../ml/clustering/quality';
import { CLUSTERING_RUNNERS } from '../ml/clustering/runners';
import { estimateClusteringMemoryMb } from '../gpu/memory-estimate';
import { DeviceHold, holdDeviceMemory, ranOn } from './gpu-admission';
import type { ActivityDeps } from './deps';
import { INVALID_JOB_INPUT, NON_FINITE_RESULT } from './errors';
import { resolveInit } from './clustering-init';
import { jobEventWriter, ThrottledProgress } from './job-events';
import { NonFiniteResultError, assertFiniteResult } from '../ml/finite-guard';

/** The full result, stored as an artifact (labels can be millions long; history only sees the summary). */
export interface ClusteringResultDocument {
  algorithm: string;
  params: ClusteringParams;
  datasetId: string;
  columns: string[];
  labelsColumn?: string;
  n: number;
  d: number;
  labels: number[];
  clusters: number;
  clusterSizes: number[];
  noisePoints: number;
  inertia?: number;
  iterations?: number;
  converged?: boolean;
  method?: string;
  quality: ClusteringQuality;
  /** Algorithm-specific: centroids, merge tree, codebook, probabilities... */
  extras: Record<string, unknown>;
  backend: string;
}

export interface RegisterClusteringModelInput {
  tenantId: string;
  modelName: string;
  summary: ClusteringSummary;
  params: ClusteringParams;
}

/** Known labels from the dataset's labelsColumn, as numbers (a text column's level indices). */
function truthColumn(table: Table, name: string): Float64Array {
  const index = table.columns.findIndex((c) => c.name === name);
  if (index < 0)
    throw ApplicationFailure.nonRetryable(
      `labelsColumn ${JSON.stringify(name)} is not a column of the dataset`,
      INVALID_JOB_INPUT,
    );
  const width = table.columns.length;
  const truth = new Float64Array(table.rows);
  for (let r = 0; r < table.rows; r++) truth[r] = table.values[r * width + index];
  return truth;
}

function sizesOf(labels: Int32Array, clusters: number): { sizes: number[]; noise: number } {
  let max = clusters - 1;
  for (const label of labels) if (label > max) max = label;
  const sizes = new Array<number>(max + 1).fill(0);
  let noise = 0;
  for (const label of labels) {
    if (label < 0) noise++;
    else sizes[label]++;
  }
  return { sizes, noise };
}

/**
 * How a clustering or scoring error fails the job: an input the algorithm refuses (RangeError, which says why) and a
 * non-finite result are non-retryable (the same input fails the same way every time); anything else is retried.
 */
function asJobFailure(err: unknown): unknown {
  if (err instanceof NonFiniteResultError) return ApplicationFailure.nonRetryable(err.message, NON_FINITE_RESULT);
  if (err instanceof RangeError) return ApplicationFailure.nonRetryable(err.message, INVALID_JOB_INPUT);
  return err;
}

/** Waits `ms` (the test hook), or until `signal` aborts. */
function dawdle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

function guardFinite(what: string, value: unknown): void {
  try {
    assertFiniteResult(what, value);
  } catch (err) {
    throw asJobFailure(err);
  }
}

export function createClusteringActivities({ pool, placement, admission, evaluationDelayMs }: ActivityDeps) {
  return {
    /**
     * Loads the dataset, runs the algorithm with a heartbeat at each of its checkpoints, scores the result and stores
     * it. Idempotent: result artifacts are content-addressed, so a retry computing the same result stores no copy.
     * Also runs as a local activity for small jobs (workflows/clustering.ts), then without heartbeats.
     */
    async runClustering(input: ClusteringJobInput): Promise<ClusteringSummary> {
      const ctx = Context.current();
      // A local activity (a small job: workflows/clustering.ts) has no heartbeat: the server never sees it running.
      const heartbeat = (details: Record<string, unknown>) => {
        if (!ctx.info.isLocal) ctx.heartbeat(details);
      };
      const backend = await initComputeBackend();
      // A GPU worker admits the job by its device memory need, held until the activity ends. Jobs that carry no
      // need (submitted before needs rode along) are estimated once the dataset's shape is known.
      let hold: DeviceHold | undefined =
        input.gpuMemoryMb !== undefined ? await holdDeviceMemory(admission, input.gpuMemoryMb) : undefined;
      try {
        // Test hook (deps.evaluationDelayMs): a crash test kills the worker while the compute dawdles here.
        if (evaluationDelayMs) await dawdle(evaluationDelayMs, ctx.cancellationSignal);
        const t0 = Date.now();
        // Centroids given as init come from their artifact; the stored result and the registry keep the reference.
        const params = await resolveInit(pool, input.tenantId, input.params);
        const loaded = await loadDatasetTable(pool, input.tenantId, input.datasetId);
        if (!loaded)
          throw ApplicationFailure.nonRetryable(`dataset ${input.datasetId} does not exist`, INVALID_JOB_INPUT);
        const columns =
          input.columns ?? loaded.table.columns.map((c) => c.name).filter((name) => name !== input.labelsColumn);
        let matrix: ReturnType<typeof numericMatrix>;
        try {
          matrix = numericMatrix(loaded.table, columns, { checkResolution: true });
        } catch (err) {
          throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_INPUT);
        }
        const truth = input.labelsColumn ? truthColumn(loaded.table, input.labelsColumn) : undefined;
        const { n, d } = matrix;
        const loadMs = Date.now() - t0;
        hold ??= await holdDeviceMemory(admission, estimateClusteringMemoryMb(input.algorithm, { n, d, params }));

        const t1 = Date.now();
        heartbeat({ stage: 'clustering', algorithm: input.algorithm, n, d });
        // The event log gets the same progress, at most once a second (an iteration can take microseconds); a local
        // activity (a small job, done in milliseconds) writes none, as it heartbeats none.
        const progress = ctx.info.isLocal
          ? undefined
          : new ThrottledProgress(jobEventWriter(pool, ctx), 'clustering', ctx.info.attempt);
        await progress?.report({ phase: 'clustering', algorithm: input.algorithm, n, d });
        const runner = CLUSTERING_RUNNERS[input.algorithm];
        const output = await runner(matrix.values, n, d, params as never, {
          signal: ctx.cancellationSignal,
          onProgress: async (p) => {
            heartbeat({ stage: 'clustering', algorithm: input.algorithm, n, d, ...p });
            await progress?.report({ phase: 'clustering', algorithm: input.algorithm, n, d, ...p });
          },
        }).catch((err: unknown) => {
          // Report a cancellation as such (its reason is the SDK's CancelledFailure), not as a failed attempt.
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          throw asJobFailure(err);
        });
        const computeMs = Date.now() - t1;

        const t2 = Date.now();
        heartbeat({ stage: 'scoring', algorithm: input.algorithm, n, d });
        await progress?.report(
          {
            phase: 'scoring',
            algorithm: input.algorithm,
            n,
            d,
            clusters: output.clusters,
            ...(output.iterations !== undefined ? { iterations: output.iterations } : {}),
          },
          true,
        );
        const quality = await clusteringQuality(matrix.values, n, d, output.labels, {
          ...(truth ? { truth } : {}),
          ...(output.centres ? { centres: output.centres } : {}),
          seed: typeof input.params.seed === 'number' ? input.params.seed : 0,
        }).catch((err: unknown) => {
          throw asJobFailure(err);
        });
        const qualityMs = Date.now() - t2;

        const t3 = Date.now();
        const { sizes, noise } = sizesOf(output.labels, output.clusters);
        const document: ClusteringResultDocument = {
          algorithm: input.algorithm,
          params: input.params,
          datasetId: input.datasetId,
          columns,
          ...(input.labelsColumn ? { labelsColumn: input.labelsColumn } : {}),
          n,
          d,
          labels: Array.from(output.labels),
          clusters: output.clusters,
          clusterSizes: sizes,
          noisePoints: noise,
          ...(output.inertia !== undefined ? { inertia: output.inertia } : {}),
          ...(output.iterations !== undefined ? { iterations: output.iterations } : {}),
          ...(output.converged !== undefined ? { converged: output.converged } : {}),
          ...(output.method ? { method: output.method } : {}),
          quality,
          extras: output.extras,
          backend: backend.name,
        };
        // The last guard: nothing non-finite is stored or returned (JSON would write it as null).
        guardFinite(`${input.algorithm} result`, document);
        // The result and the model are independent rows: stored side by side, so their commits overlap.
        const [resultArtifact, modelArtifact] = await Promise.all([
          putArtifact(pool, {
            tenantId: input.tenantId,
            kind: 'clustering-result',
            mediaType: 'application/json',
            content: Buffer.from(JSON.stringify(document)),
          }),
          // The model is what assigns new points (centroids, codebook, mixture): nothing per-row.
          output.model
            ? putArtifact(pool, {
                tenantId: input.tenantId,
                kind: 'model',
                mediaType: `application/vnd.kiln.${output.model.flavor}+json`,
                content: Buffer.from(JSON.stringify({ ...output.model, columns })),
              })
            : undefined,
        ]);
        const storeMs = Date.now() - t3;

        const summary: ClusteringSummary = {
          algorithm: input.algorithm,
          datasetId: input.datasetId,
          datasetSha256: loaded.meta.sha256,
          n,
          d,
          ...(typeof input.params.k === 'number' ? { k: input.params.k } : {}),
          clusters: output.clusters,
          ...(sizes.length <= MAX_SUMMARY_CLUSTERS ? { clusterSizes: sizes } : {}),
          ...(noise > 0 ? { noisePoints: noise } : {}),
          ...(output.inertia !== undefined ? { inertia: output.inertia } : {}),
          ...(output.iterations !== undefined ? { iterations: output.iterations } : {}),
          ...(output.converged !== undefined ? { converged: output.converged } : {}),
          ...(output.method ? { method: output.method } : {}),
          quality,
          backend: backend.name,
          ranOn: ranOn(placement, hold),
          timings: { loadMs, computeMs, qualityMs, storeMs },
          resultArtifactId: resultArtifact.id,
          ...(modelArtifact ? { modelArtifactId: modelArtifact.id } : {}),
        };
        guardFinite(`${input.algorithm} summary`, summary);
        return summary;
      } finally {
        hold?.release();
      }
    },

    /** Registers the model as a version; exactly once per workflow, however often it is retried. */
    async registerClusteringModel(input: RegisterClusteringModelInput): Promise<RegisteredVersionRef> {
      const execution = Context.current().info.workflowExecution;
      if (!execution)
        throw ApplicationFailure.nonRetryable('registerClusteringModel runs only inside a workflow', INVALID_JOB_INPUT);
      const { workflowId, runId } = execution;
      const { summary } = input;
      if (!summary.modelArtifactId) {
        throw ApplicationFailure.nonRetryable(
          `${summary.algorithm} results cannot assign new points, so there is no model to register`,
          INVALID_JOB_INPUT,
        );
      }
      const { version } = await registerModelVersion(pool, {
        tenantId: input.tenantId,
        modelName: input.modelName,
        flavor: summary.algorithm,
        params: { ...input.params },
        metrics: {
          ...(summary.inertia !== undefined ? { inertia: summary.inertia } : {}),
          ...(summary.iterations !== undefined ? { iterations: summary.iterations } : {}),
          ...(summary.converged !== undefined ? { converged: summary.converged } : {}),
          clusters: summary.clusters,
          n: summary.n,
          d: summary.d,
          ...summary.quality,
        },
        artifactId: summary.modelArtifactId,
        datasetId: summary.datasetId,
        datasetSha256: summary.datasetSha256,
        sourceWorkflowId: workflowId,
        sourceRunId: runId,
        backend: summary.backend,
        actor: `job:${workflowId}`,
      });
      return { modelName: input.modelName, version: version.version, versionId: version.id };
    },
  };
}
