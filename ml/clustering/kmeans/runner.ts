import { kmeans, KMeansParams, KMeansResult } from './kmeans';
import { ClusteringHooks, ClusteringOutput } from '../types';

export interface KMeansRunParams extends KMeansParams {
  /** Independent runs with seeds seed, seed+1, ...; the lowest inertia wins (scikit-learn's n_init). */
  nInit?: number;
}

/** k-means as a ClusteringOutput, with scikit-learn's n_init: several seeded runs, best inertia kept. */
export async function runKmeans(
  points: Float32Array,
  n: number,
  d: number,
  params: KMeansRunParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const { nInit = 1, ...single } = params;
  const seed = single.seed ?? 0;
  let best: KMeansResult | undefined;
  for (let run = 0; run < nInit; run++) {
    const result = await kmeans(
      points,
      n,
      d,
      { ...single, seed: seed + run },
      {
        signal: hooks.signal,
        onIteration: (p) => hooks.onProgress?.({ run: run + 1, runs: nInit, ...p }),
      },
    );
    if (!best || result.inertia < best.inertia) best = result;
  }
  const chosen = best!;
  return {
    labels: chosen.labels,
    clusters: chosen.clusterSizes.filter((size) => size > 0).length,
    inertia: chosen.inertia,
    iterations: chosen.iterations,
    converged: chosen.converged,
    method: `${chosen.algorithm === 'hamerly' ? "Lloyd with Hamerly's bounds" : 'Lloyd'}, blocked tensor distances, ${chosen.threads} thread${chosen.threads === 1 ? '' : 's'}`,
    extras: {
      centroids: chosen.centroids,
      clusterSizes: chosen.clusterSizes,
      // The assignment method used (the 'auto' rule's choice) and the share of Lloyd's scoring it did.
      algorithm: chosen.algorithm,
      scoredFraction: Number(chosen.scoredFraction.toFixed(4)),
    },
    model: { flavor: 'kmeans', centroids: chosen.centroids },
    centres: chosen.centroids,
  };
}
