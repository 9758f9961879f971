/**
 * Shapes that cross the workflow boundary. They are small by design: datasets and results travel as ids, never as
 * arrays (Temporal writes every argument and result into history forever).
 */
import type { BackendName } from './backend-name';
import type { ResolvedDataset } from './dataset-ref';

export type JobKind = 'clustering' | 'training' | 'batch-predict' | 'pipeline';
export const CLUSTERING_ALGORITHMS = [
  'kmeans',
  'minibatch-kmeans',
  'dbscan',
  'hierarchical',
  'som',
  'spectral',
  'gmm',
] as const;
export type ClusteringAlgorithm = (typeof CLUSTERING_ALGORITHMS)[number];

/**
 * An algorithm's parameters, already validated (and defaulted) by the API against that algorithm's schema. k-means
 * centroids given as `init` (k × d numbers, growing with the data) are not here but in an artifact: `init` holds a
 * ClusteringInitRef, which the activity loads. Jobs started before that hold the centroids inline (they still run).
 */
export type ClusteringParams = Record<string, unknown>;

/** `params.init` of a k-means job whose initial centroids are stored as an artifact (JSON number[k][d]). */
export interface ClusteringInitRef {
  artifactId: string;
  /** Centroids (rows) and numbers per centroid (columns), for people reading the job's input or memo. */
  k: number;
  d: number;
}

/** Whether a `params.init` value is a ClusteringInitRef (not a method name, not inline centroids). */
export function isInitRef(value: unknown): value is ClusteringInitRef {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as { artifactId?: unknown }).artifactId === 'string'
  );
}

export interface ClusteringJobInput {
  tenantId: string;
  datasetId: string;
  algorithm: ClusteringAlgorithm;
  params: ClusteringParams;
  /** Columns to cluster on; all columns (but labelsColumn) when absent. */
  columns?: string[];
  /** A column holding known labels: excluded from the features, used for ARI and NMI. */
  labelsColumn?: string;
  register?: { name: string };
  /** Where the compute runs when it is not the workflow's own queue (`any`: GPU first, then a fallback). */
  route?: ComputeRoute;
  /** Device memory (MiB) the compute needs, requested or estimated; a GPU worker admits the job against it. */
  gpuMemoryMb?: number;
  /**
   * A small job on the CPU pool (at most KILN_LOCAL_COMPUTE_MAX_CELLS points × columns, no route, a dataset by id):
   * the compute runs as a local activity inside the workflow's own task, with no dispatch of its own. Never set with
   * `route`.
   */
  runLocally?: boolean;
}

/** Try `taskQueue`; when no worker there starts the work within `afterSeconds`, run it on `fallback.taskQueue`. */
export interface ComputeRoute {
  taskQueue: string;
  fallback?: { taskQueue: string; afterSeconds: number };
}

/** Where a job's compute ran: the worker's pool, the task queue it took the job from, and its device (GPU pools). */
export interface Placement {
  pool: string;
  taskQueue: string;
  device?: { id: string; name: string; gpuClass?: string; source: string };
  /** On a GPU worker: the device memory the job held, how long it waited for it, and when it ran. */
  admission?: Admission;
}

/** A job's admission on a GPU device (gpu/admission.ts). */
export interface Admission {
  memoryMb: number;
  waitedMs: number;
  /** ISO times: admitted (memory reserved) and finished computing (released right after). */
  admittedAt: string;
  finishedAt: string;
}

/** Quality of a clustering (scikit-learn's definitions); a metric undefined for the result is absent. */
export interface ClusteringQuality {
  silhouette?: number;
  silhouetteSampled?: boolean;
  daviesBouldin?: number;
  calinskiHarabasz?: number;
  ari?: number;
  nmi?: number;
  excludedNoise?: number;
}

export interface ClusteringTimings {
  loadMs: number;
  computeMs: number;
  qualityMs: number;
  storeMs: number;
}

/** What the clustering activity returns: a summary plus ids of the artifacts that hold the full result. */
export interface ClusteringSummary {
  algorithm: ClusteringAlgorithm;
  datasetId: string;
  datasetSha256: string;
  n: number;
  d: number;
  /** The requested k, for algorithms that take one. */
  k?: number;
  /** Clusters found (noise excluded). */
  clusters: number;
  /** Points per cluster, when there are at most MAX_SUMMARY_CLUSTERS clusters. */
  clusterSizes?: number[];
  noisePoints?: number;
  inertia?: number;
  iterations?: number;
  converged?: boolean;
  method?: string;
  quality: ClusteringQuality;
  backend: BackendName;
  ranOn: Placement;
  timings: ClusteringTimings;
  resultArtifactId: string;
  /** Present when the algorithm can assign new points. */
  modelArtifactId?: string;
}

/** Summaries live in workflow history: beyond this many clusters the sizes stay in the result artifact only. */
export const MAX_SUMMARY_CLUSTERS = 1024;

export interface RegisteredVersionRef {
  modelName: string;
  version: number;
  versionId: string;
}

export interface ClusteringJobResult extends ClusteringSummary {
  registered?: RegisteredVersionRef;
  /** The series version a job that named its dataset by series ran on. */
  dataset?: ResolvedDataset;
  /** Set when the job asked for any accelerator and no GPU worker took it within the bound. */
  fellBackToCpu?: boolean;
}

/** Progress a job reports (GET /api/v1/jobs/:id): the workflow's stage plus the running activity's last heartbeat. */
export type JobStage = 'queued' | 'clustering' | 'registering' | 'completed';

export interface JobProgress {
  stage: JobStage;
  [key: string]: unknown;
}

/** A training job: everything the activity needs, with the dataset by id (never its rows). */
export interface TrainingJobInput {
  tenantId: string;
  datasetId: string;
  target: string;
  features?: string[];
  model: { name: string };
  spec: {
    task: 'classification' | 'regression';
    layers: Array<{ units: number; activation: string; dropout?: number }>;
  };
  training: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    optimizer?: 'adam' | 'sgd' | 'rmsprop';
    validationSplit?: number;
    seed?: number;
    checkpointEvery?: number;
    earlyStopping?: { patience: number; minDelta: number };
  };
  /** As for clustering: `any` tries the GPU pool first. Absent on jobs from before routing (their histories replay). */
  route?: ComputeRoute;
  gpuMemoryMb?: number;
  /**
   * True when a validation pipeline runs this job as its child: the pipeline registers the candidate itself (keyed by
   * its own workflow id, with the gate's verdict), so the job returns without registering. Absent on every job started
   * before pipelines (their histories replay) and on every job started through POST /api/v1/training.
   */
  skipRegistration?: boolean;
}

/** One activity attempt of a training job and the epoch it resumed from (0 = from scratch). */
export interface TrainingAttempt {
  attempt: number;
  resumedFromEpoch: number;
}

/** What the training activity heartbeats each epoch; a retry resumes from checkpointArtifactId. */
export interface TrainingHeartbeat {
  stage: 'training';
  epoch: number;
  epochs: number;
  loss?: number;
  valLoss?: number;
  metrics?: Record<string, number>;
  checkpointArtifactId?: string;
  checkpointEpoch?: number;
  attempts: TrainingAttempt[];
}

export interface TrainingSummary {
  datasetId: string;
  datasetSha256: string;
  task: 'classification' | 'regression';
  epochsRun: number;
  stoppedEarly: boolean;
  stoppedBy?: 'early-stopping' | 'stop-request';
  attempts: TrainingAttempt[];
  finalMetrics: Record<string, unknown>;
  historyArtifactId: string;
  modelArtifactId: string;
  backend: string;
  ranOn: Placement;
  durationMs: number;
  fellBackToCpu?: boolean;
}

export interface TrainingJobResult extends TrainingSummary {
  /** Absent only when the input said skipRegistration (a pipeline's child). */
  registered?: RegisteredVersionRef;
  /** The series version a job that named its dataset by series ran on. */
  dataset?: ResolvedDataset;
  /** Set when the job asked for any accelerator and no GPU worker took it within the bound. */
  fellBackToCpu?: boolean;
}

/** A batch prediction: a registered model version (resolved by the API) over a stored dataset. */
export interface BatchPredictJobInput {
  tenantId: string;
  modelName: string;
  version: number;
  flavor: string;
  artifactId: string;
  datasetId: string;
  route?: ComputeRoute;
  gpuMemoryMb?: number;
}

export interface BatchPredictResult {
  modelName: string;
  version: number;
  datasetId: string;
  rows: number;
  predictionsArtifactId: string;
  backend: string;
  ranOn: Placement;
  durationMs: number;
  fellBackToCpu?: boolean;
  /** The series version a job that named its dataset by series ran on. */
  dataset?: ResolvedDataset;
}
