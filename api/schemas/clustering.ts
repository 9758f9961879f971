import { z } from 'zod';
import { CLUSTERING_ALGORITHMS, ClusteringAlgorithm } from '../../common/jobs';
import { modelName, resources, uuid } from './common';

/** Documented limits on a clustering request (README: Limits). */
export const CLUSTERING_LIMITS = {
  maxK: 4096,
  maxIterations: 10_000,
  /** Labels returned inline by GET /jobs/:id/result up to this many points; above it, an artifact link. */
  inlineLabels: 100_000,
} as const;

const k = z.number().int().min(1).max(CLUSTERING_LIMITS.maxK).meta({ description: 'Number of clusters; at most the number of rows' });
const seed = z.number().int().min(0).max(2 ** 32 - 1).default(0);
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
    description: "Stop when the squared centroid shift falls below tolerance × the data's mean feature variance (scikit-learn's rule)",
  }),
  seed,
});

export interface AlgorithmSpec {
  description: string;
  params: z.ZodType<Record<string, unknown>>;
  /** Whether a result can assign new points, so it can be registered as a model and used by predict. */
  assignsNewPoints: boolean;
  /** Most points the algorithm accepts, why, and what to use beyond. */
  limit?: { maxPoints: number; why: string; alternative?: string };
}

export const ALGORITHMS: Record<ClusteringAlgorithm, AlgorithmSpec> = {
  kmeans: {
    description: "Lloyd's k-means with k-means++ (or random) initialisation and scikit-learn's n_init, in TensorFlow.js",
    params: kmeansParams as z.ZodType<Record<string, unknown>>,
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
    data: z.array(z.unknown()).optional().meta({ description: 'Inline rows (number[][] or object[]); stored as a dataset first' }),
    columns: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Columns to cluster on (default: all but labelsColumn)' }),
    labelsColumn: z.string().min(1).optional().meta({ description: 'A column of known labels: not clustered on; scored with ARI and NMI' }),
    resources: resources.optional(),
    register: z.strictObject({ name: modelName }).optional(),
  })
  .meta({ description: 'Start a clustering job on a stored dataset (datasetId) or inline data (data): exactly one of them' });

export const jobAccepted = z.object({
  jobId: z.string(),
  kind: z.string(),
  status: z.literal('RUNNING'),
  datasetId: z.string(),
  links: z.object({ self: z.string(), result: z.string(), cancel: z.string() }),
});
