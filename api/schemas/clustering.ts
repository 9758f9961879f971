import { z } from 'zod';
import { modelName, resources, uuid } from './common';

/** Documented limits on a clustering request (README: Limits). */
export const CLUSTERING_LIMITS = {
  maxK: 4096,
  maxIterations: 10_000,
  /** Labels returned inline by GET /jobs/:id/result up to this many points; above it, an artifact link. */
  inlineLabels: 100_000,
} as const;

export const kmeansParams = z.strictObject({
  k: z.number().int().min(1).max(CLUSTERING_LIMITS.maxK).meta({ description: 'Number of clusters; at most the number of rows' }),
  maxIterations: z.number().int().min(1).max(CLUSTERING_LIMITS.maxIterations).default(300),
  tolerance: z.number().min(0).max(1).default(1e-4).meta({
    description: "Stop when the squared centroid shift falls below tolerance × the data's mean feature variance (scikit-learn's rule)",
  }),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  init: z.enum(['k-means++', 'random']).default('k-means++'),
});

export const ALGORITHMS = {
  kmeans: {
    description: "Lloyd's k-means with k-means++ initialisation, in TensorFlow.js",
    params: kmeansParams,
    assignsNewPoints: true,
  },
} as const;

export type AlgorithmName = keyof typeof ALGORITHMS;

export function isAlgorithmName(name: string): name is AlgorithmName {
  return Object.prototype.hasOwnProperty.call(ALGORITHMS, name);
}

/** The envelope of POST /api/v1/clustering; `params` is validated per algorithm afterwards. */
export const clusteringRequest = z
  .strictObject({
    algorithm: z.string().meta({ description: `One of: ${Object.keys(ALGORITHMS).join(', ')}` }),
    params: z.record(z.string(), z.unknown()),
    datasetId: uuid.optional(),
    data: z.array(z.unknown()).optional().meta({ description: 'Inline rows (number[][] or object[]); stored as a dataset first' }),
    columns: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Columns to cluster on (default: all)' }),
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
