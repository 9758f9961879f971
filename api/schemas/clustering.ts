import { z } from 'zod';
import { CLUSTERING_ALGORITHMS, ClusteringAlgorithm } from '../../common/jobs';
import { DBSCAN_LIMIT } from '../../ml/clustering/dbscan/dbscan';
import { HIERARCHICAL_LIMITS, Linkage } from '../../ml/clustering/hierarchical/hierarchical';
import { SOM_MAX_UNITS } from '../../ml/clustering/som/som';
import { KMEANS_ALGORITHMS } from '../../ml/clustering/kmeans/kmeans';
import { SPECTRAL_LIMITS, SPECTRAL_MAX_K, SpectralAffinity } from '../../ml/clustering/spectral/spectral';
import { AlgorithmLimit } from '../../ml/clustering/types';
import { jobPriority, modelName, resources, uuid } from './common';
import { datasetRef } from './dataset-ref';
import { storableText } from './storable-text';

/** Documented limits on a clustering request (README: Limits). */
export const CLUSTERING_LIMITS = {
  maxK: 4096,
  maxIterations: 10_000,
  /** Labels returned inline by GET /jobs/:id/result up to this many points; above it, an artifact link. */
  inlineLabels: 100_000,
} as const;

const k = z
  .number()
  .int()
  .min(1)
  .max(CLUSTERING_LIMITS.maxK)
  .meta({ description: 'Number of clusters; at most the number of rows' });
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
  .default(0);
const iterations = (fallback: number) => z.number().int().min(1).max(CLUSTERING_LIMITS.maxIterations).default(fallback);

export const kmeansParams = z.strictObject({
  k,
  init: z
    .union([z.enum(['k-means++', 'random']), z.array(z.array(z.number()).min(1)).min(1)])
    .default('k-means++')
    .meta({ description: "'k-means++', 'random', or k initial centroids (k rows of one number per column)" }),
  nInit: z.number().int().min(1).max(100).default(1).meta({ description: 'Seeded runs; the lowest inertia wins' }),
  maxIterations: iterations(300),
  tolerance: z.number().min(0).max(1).default(1e-4).meta({
    description:
      "Stop when the squared centroid shift falls below tolerance × the data's mean feature variance (scikit-learn's rule)",
  }),
  seed,
  algorithm: z
    .enum(KMEANS_ALGORITHMS)
    .default('auto')
    .meta({
      description:
        "Assignment passes: 'lloyd' scores every point against every centroid; 'hamerly' keeps distance bounds and " +
        "scores only the points they leave undecided (same labels and centroids); 'auto' picks Hamerly for k ≥ 8 on the " +
        'wasm and cpu backends. The result says which ran (algorithm) and the share of scoring done (scoredFraction)',
    }),
});

export const minibatchKmeansParams = z.strictObject({
  k,
  batchSize: z.number().int().min(1).max(1_000_000).default(1024),
  maxIterations: iterations(100).meta({ description: 'Most passes over the data (scikit-learn max_iter)' }),
  tolerance: z.number().min(0).max(1).default(0),
  maxNoImprovement: z.number().int().min(1).max(10_000).nullable().default(10),
  nInit: z.number().int().min(1).max(100).default(1),
  seed,
});

export const dbscanParams = z.strictObject({
  eps: z.number().positive().max(1e12).meta({ description: 'Neighbourhood radius (euclidean, or 1 − cos for cosine)' }),
  minPoints: z.number().int().min(1).max(100_000).default(5).meta({
    description: "Neighbours, the point itself included, that make a core point (scikit-learn's min_samples)",
  }),
  metric: z.enum(['euclidean', 'cosine']).default('euclidean'),
});

export const hierarchicalParams = z
  .strictObject({
    k: k.optional(),
    distanceThreshold: z.number().min(0).max(1e12).optional(),
    linkage: z.enum(['ward', 'complete', 'average', 'single']).default('ward'),
  })
  .refine((p) => (p.k === undefined) !== (p.distanceThreshold === undefined), {
    message: 'give exactly one of k and distanceThreshold',
    path: ['k'],
  });

export const somParams = z
  .strictObject({
    rows: z.number().int().min(1).max(1000),
    cols: z.number().int().min(1).max(1000),
    iterations: z
      .number()
      .int()
      .min(1)
      .max(CLUSTERING_LIMITS.maxIterations)
      .default(10)
      .meta({ description: 'Epochs (passes over all points)' }),
    learningRate: z.number().gt(0).max(1).default(0.5),
    sigma: z
      .number()
      .positive()
      .max(1000)
      .optional()
      .meta({ description: 'Initial neighbourhood radius in grid units; default max(rows, cols) / 2' }),
    seed,
  })
  .refine((p) => p.rows * p.cols <= SOM_MAX_UNITS, {
    message: `rows × cols must be at most ${SOM_MAX_UNITS} units`,
    path: ['rows'],
  });

export const spectralParams = z.strictObject({
  k: z.number().int().min(1).max(SPECTRAL_MAX_K),
  affinity: z.enum(['rbf', 'nearest-neighbors']).default('rbf'),
  gamma: z.number().min(0).max(1e12).default(1.0).meta({ description: 'rbf kernel coefficient' }),
  nNeighbors: z.number().int().min(1).max(1000).default(10),
  nInit: z.number().int().min(1).max(100).default(10),
  seed,
});

export const gmmParams = z.strictObject({
  k,
  covarianceType: z.enum(['full', 'diag']).default('full'),
  maxIterations: iterations(100),
  tolerance: z.number().min(0).max(1).default(1e-3),
  regCovar: z.number().min(0).max(1).default(1e-6),
  nInit: z.number().int().min(1).max(100).default(1),
  seed,
});

export interface AlgorithmSpec {
  description: string;
  params: z.ZodType<Record<string, unknown>>;
  /** Whether a result can assign new points, so it can be registered as a model and used by predict. */
  assignsNewPoints: boolean;
  /** Most points the algorithm accepts with these params, why, and what to use beyond. */
  limit?: (params: Record<string, unknown>) => AlgorithmLimit;
  /** Limits for the catalogue, by variant (linkage, affinity). */
  limits?: Record<string, AlgorithmLimit>;
}

const asParams = (schema: z.ZodType) => schema as z.ZodType<Record<string, unknown>>;

export const ALGORITHMS: Record<ClusteringAlgorithm, AlgorithmSpec> = {
  kmeans: {
    description:
      "Lloyd's k-means with k-means++ (or random, or given) initialisation and scikit-learn's n_init, in TensorFlow.js",
    params: asParams(kmeansParams),
    assignsNewPoints: true,
  },
  'minibatch-kmeans': {
    description:
      "scikit-learn's MiniBatchKMeans: k-means on random batches, for inputs too large for full Lloyd passes",
    params: asParams(minibatchKmeansParams),
    assignsNewPoints: true,
  },
  dbscan: {
    description:
      "Density-based clustering as scikit-learn's DBSCAN; noise is label -1. Neighbour search by kd-tree or blocked tensor distances, chosen by dimension and backend (see method)",
    params: asParams(dbscanParams),
    assignsNewPoints: false,
    limit: () => DBSCAN_LIMIT,
    limits: { all: DBSCAN_LIMIT },
  },
  hierarchical: {
    description:
      'Agglomerative clustering (ward, complete, average, single) as scikit-learn; the result includes the merge tree',
    params: asParams(hierarchicalParams),
    assignsNewPoints: false,
    limit: (p) => HIERARCHICAL_LIMITS[(p.linkage as Linkage) ?? 'ward'],
    limits: HIERARCHICAL_LIMITS,
  },
  som: {
    description:
      "Self-organising map: a rows × cols grid of units; the result includes the codebook and each point's cell",
    params: asParams(somParams),
    assignsNewPoints: true,
  },
  spectral: {
    description:
      "Spectral clustering as scikit-learn's SpectralClustering (rbf or nearest-neighbors affinity), eigenvectors by a tensor eigensolver",
    params: asParams(spectralParams),
    assignsNewPoints: false,
    limit: (p) => SPECTRAL_LIMITS[(p.affinity as SpectralAffinity) ?? 'rbf'],
    limits: SPECTRAL_LIMITS,
  },
  gmm: {
    description:
      "Gaussian mixture (full or diagonal covariances) by EM as scikit-learn's GaussianMixture; the result includes probabilities",
    params: asParams(gmmParams),
    assignsNewPoints: true,
  },
};

export function isAlgorithmName(name: string): name is ClusteringAlgorithm {
  return (CLUSTERING_ALGORITHMS as readonly string[]).includes(name);
}

/** The envelope of POST /api/v1/clustering; `params` is validated per algorithm afterwards. */
export const clusteringRequest = z
  .strictObject({
    algorithm: z.string().meta({ description: `One of: ${CLUSTERING_ALGORITHMS.join(', ')}` }),
    params: z.record(z.string(), z.unknown()),
    datasetId: uuid.optional(),
    dataset: datasetRef.optional(),
    data: z
      .array(z.unknown())
      .optional()
      .meta({ description: 'Inline rows (number[][] or object[]); stored as a dataset first' }),
    columns: z
      .array(storableText().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Columns to cluster on (default: all but labelsColumn)' }),
    labelsColumn: storableText()
      .min(1)
      .optional()
      .meta({ description: 'A column of known labels: not clustered on; scored with ARI and NMI' }),
    resources: resources.optional(),
    register: z.strictObject({ name: modelName }).optional(),
    priority: jobPriority.optional(),
  })
  .meta({
    description:
      'Start a clustering job on a stored dataset (datasetId), a version of a named series (dataset) or inline data (data): exactly one of them',
  });

export const jobAccepted = z.object({
  jobId: z.string(),
  kind: z.string(),
  status: z.string().meta({
    description: "RUNNING for a new job (202); the job's current status when an Idempotency-Key replays it (200)",
  }),
  datasetId: z.string(),
  taskQueue: z.string().meta({ description: "The workflow's task queue: always the CPU pool, which orchestrates" }),
  computeQueue: z.string().meta({
    description:
      'Where the compute goes first: a GPU queue (kiln-gpu, kiln-gpu-<class>, kiln-gpu-<class>-<budget>mb) or kiln-cpu',
  }),
  links: z.object({ self: z.string(), result: z.string(), cancel: z.string() }),
});
