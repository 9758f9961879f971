import { ClusteringAlgorithm } from '../../common/jobs';
import { assertFiniteResult } from '../finite-guard';
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

/**
 * The runner with the final guard every result passes: a NaN or ±Infinity anywhere in the output (inertia,
 * centroids, eigenvalues, extras, model) rejects with NonFiniteResultError (../finite-guard.ts) naming the field,
 * instead of a result that JSON would serialise with `null` in it.
 */
function guarded(algorithm: ClusteringAlgorithm, run: ClusteringRunner): ClusteringRunner {
  return async (points, n, d, params, hooks) => {
    const output = await run(points, n, d, params, hooks);
    assertFiniteResult(`${algorithm} result`, output);
    return output;
  };
}

/** Every algorithm a clustering job can run, by the name the API accepts. Params are validated at the API edge. */
export const CLUSTERING_RUNNERS: Record<ClusteringAlgorithm, ClusteringRunner> = {
  kmeans: guarded('kmeans', runKmeans as ClusteringRunner),
  'minibatch-kmeans': guarded('minibatch-kmeans', runMiniBatchKmeans as ClusteringRunner),
  dbscan: guarded('dbscan', runDbscan as ClusteringRunner),
  hierarchical: guarded('hierarchical', runHierarchical as ClusteringRunner),
  som: guarded('som', runSom as ClusteringRunner),
  spectral: guarded('spectral', runSpectral as ClusteringRunner),
  gmm: guarded('gmm', runGmm as ClusteringRunner),
};
