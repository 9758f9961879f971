import { ClusteringAlgorithm } from '../../common/jobs';
import { runDbscan } from './dbscan/dbscan';
import { runGmm } from './gmm/gmm';
import { runHierarchical } from './hierarchical/hierarchical';
import { runKmeans } from './kmeans/runner';
import { runMiniBatchKmeans } from './minibatch-kmeans/minibatch-kmeans';
import { runSom } from './som/som';
import { runSpectral } from './spectral/spectral';
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
  'minibatch-kmeans': runMiniBatchKmeans as ClusteringRunner,
  dbscan: runDbscan as ClusteringRunner,
  hierarchical: runHierarchical as ClusteringRunner,
  som: runSom as ClusteringRunner,
  spectral: runSpectral as ClusteringRunner,
  gmm: runGmm as ClusteringRunner,
};
