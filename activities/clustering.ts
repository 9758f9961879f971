import { ApplicationFailure, Context } from '@temporalio/activity';
import { Pool } from 'pg';
import { ClusteringJobInput, ClusteringSummary, KMeansJobParams, RegisteredVersionRef } from '../common/jobs';
import { numericMatrix } from '../datasets/encode';
import { putArtifact } from '../db/artifacts';
import { loadDatasetTable } from '../db/datasets';
import { registerModelVersion } from '../db/registry';
import { initComputeBackend } from '../ml/backend';
import { kmeans } from '../ml/kmeans';

/** Error type for input the job cannot use; the workflow's retry policy does not retry it. */
export const INVALID_JOB_INPUT = 'InvalidJobInput';

export interface ClusteringResultDocument {
  algorithm: string;
  params: KMeansJobParams;
  datasetId: string;
  columns: string[];
  n: number;
  d: number;
  k: number;
  labels: number[];
  centroids: number[][];
  inertia: number;
  iterations: number;
  converged: boolean;
  clusterSizes: number[];
  backend: string;
}

export interface RegisterClusteringModelInput {
  tenantId: string;
  modelName: string;
  summary: ClusteringSummary;
  params: KMeansJobParams;
}

export function createClusteringActivities({ pool }: { pool: Pool }) {
  return {
    /**
     * Loads the dataset, runs the algorithm with a heartbeat per iteration, and stores the result. Idempotent: the
     * result artifacts are content-addressed, so a retry that computes the same result stores no second copy.
     */
    async runClustering(input: ClusteringJobInput): Promise<ClusteringSummary> {
      const ctx = Context.current();
      const backend = await initComputeBackend();
      const t0 = Date.now();
      const loaded = await loadDatasetTable(pool, input.tenantId, input.datasetId);
      if (!loaded) throw ApplicationFailure.nonRetryable(`dataset ${input.datasetId} does not exist`, INVALID_JOB_INPUT);
      let matrix: ReturnType<typeof numericMatrix>;
      try {
        matrix = numericMatrix(loaded.table, input.columns);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_INPUT);
      }
      const { n, d } = matrix;
      const { k } = input.params;
      if (!Number.isInteger(k) || k < 1 || k > n) {
        throw ApplicationFailure.nonRetryable(`params.k must be an integer from 1 to the dataset's ${n} rows`, INVALID_JOB_INPUT);
      }
      const columns = input.columns ?? loaded.table.columns.map((c) => c.name);
      const loadMs = Date.now() - t0;

      const t1 = Date.now();
      ctx.heartbeat({ stage: 'clustering', algorithm: input.algorithm, iteration: 0, n, d, k });
      const result = await kmeans(matrix.values, n, d, input.params, {
        signal: ctx.cancellationSignal,
        onIteration: (p) => ctx.heartbeat({ stage: 'clustering', algorithm: input.algorithm, n, d, k, ...p }),
      }).catch((err: unknown) => {
        // Report a cancellation as such (its reason is the SDK's CancelledFailure), not as a failed attempt.
        throw ctx.cancellationSignal.aborted ? ctx.cancellationSignal.reason : err;
      });
      const computeMs = Date.now() - t1;

      const t2 = Date.now();
      const document: ClusteringResultDocument = {
        algorithm: input.algorithm,
        params: input.params,
        datasetId: input.datasetId,
        columns,
        n,
        d,
        k,
        labels: Array.from(result.labels),
        centroids: result.centroids,
        inertia: result.inertia,
        iterations: result.iterations,
        converged: result.converged,
        clusterSizes: result.clusterSizes,
        backend: backend.name,
      };
      const resultArtifact = await putArtifact(pool, {
        tenantId: input.tenantId,
        kind: 'clustering-result',
        mediaType: 'application/json',
        content: Buffer.from(JSON.stringify(document)),
      });
      // The model is what assigns new points: the centroids and the columns they are over, nothing per-row.
      const modelArtifact = await putArtifact(pool, {
        tenantId: input.tenantId,
        kind: 'model',
        mediaType: 'application/vnd.kiln.kmeans+json',
        content: Buffer.from(JSON.stringify({ flavor: 'kmeans', columns, centroids: result.centroids })),
      });
      const storeMs = Date.now() - t2;

      return {
        algorithm: input.algorithm,
        datasetId: input.datasetId,
        datasetSha256: loaded.meta.sha256,
        n,
        d,
        k,
        inertia: result.inertia,
        iterations: result.iterations,
        converged: result.converged,
        clusterSizes: result.clusterSizes,
        backend: backend.name,
        timings: { loadMs, computeMs, storeMs },
        resultArtifactId: resultArtifact.id,
        modelArtifactId: modelArtifact.id,
      };
    },

    /** Registers the centroids as a model version; exactly once per workflow, however often it is retried. */
    async registerClusteringModel(input: RegisterClusteringModelInput): Promise<RegisteredVersionRef> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw ApplicationFailure.nonRetryable('registerClusteringModel runs only inside a workflow', INVALID_JOB_INPUT);
      const { workflowId, runId } = execution;
      const { summary } = input;
      const { version } = await registerModelVersion(pool, {
        tenantId: input.tenantId,
        modelName: input.modelName,
        flavor: summary.algorithm,
        params: { ...input.params },
        metrics: { inertia: summary.inertia, iterations: summary.iterations, converged: summary.converged, n: summary.n, d: summary.d },
        artifactId: summary.modelArtifactId,
        datasetId: summary.datasetId,
        datasetSha256: summary.datasetSha256,
        sourceWorkflowId: workflowId,
        sourceRunId: runId,
        backend: summary.backend,
        actor: `workflow:${workflowId}`,
      });
      return { modelName: input.modelName, version: version.version, versionId: version.id };
    },
  };
}
