/**
 * Shapes that cross the workflow boundary. They are small by design: datasets and results travel as ids, never as
 * arrays (Temporal writes every argument and result into history forever).
 */
import type { BackendName } from '../ml/backend';

export type JobKind = 'clustering';
export type ClusteringAlgorithm = 'kmeans';

export interface KMeansJobParams {
  k: number;
  maxIterations?: number;
  tolerance?: number;
  seed?: number;
  init?: 'k-means++' | 'random';
}

export interface ClusteringJobInput {
  tenantId: string;
  datasetId: string;
  algorithm: ClusteringAlgorithm;
  params: KMeansJobParams;
  /** Columns to cluster on; all columns when absent. */
  columns?: string[];
  register?: { name: string };
}

export interface ClusteringTimings {
  loadMs: number;
  computeMs: number;
  storeMs: number;
}

/** What the clustering activity returns: a summary plus ids of the artifacts that hold the full result. */
export interface ClusteringSummary {
  algorithm: ClusteringAlgorithm;
  datasetId: string;
  datasetSha256: string;
  n: number;
  d: number;
  k: number;
  inertia: number;
  iterations: number;
  converged: boolean;
  clusterSizes: number[];
  backend: BackendName;
  timings: ClusteringTimings;
  resultArtifactId: string;
  modelArtifactId: string;
}

export interface RegisteredVersionRef {
  modelName: string;
  version: number;
  versionId: string;
}

export interface ClusteringJobResult extends ClusteringSummary {
  registered?: RegisteredVersionRef;
}

/** Progress a job reports (GET /api/v1/jobs/:id): the workflow's stage plus the running activity's last heartbeat. */
export type JobStage = 'queued' | 'clustering' | 'registering' | 'completed';

export interface JobProgress {
  stage: JobStage;
  [key: string]: unknown;
}
