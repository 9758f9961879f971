import { ClusteringAlgorithm } from '../../common/jobs';
import { runKmeans } from './kmeans-runner';
import { ClusteringHooks, ClusteringOutput } from './types';

export type ClusteringRunner = (
  points: Float32Array,
  n: number,
  d: number,
  params: never,
  hooks?: ClusteringHooks,
) => Promise<ClusteringOutput>;

/** Every algorithm a clustering job can run, by the name the API accepts. Params are validated at the API edge. */
export const CLUSTERING_RUNNERS: Record<ClusteringAlgorithm, ClusteringRunner> = {
  kmeans: runKmeans as ClusteringRunner,
};
