import type { ComputeConfig } from '../common/config';
import { forceComputeBackend } from './backend';
import { KMEANS_PARALLEL } from './clustering/kmeans/pool';

/**
 * Applies the compute settings (KILN_BACKEND, KILN_KMEANS_THREADS; common/config.ts) to ml/ before any computation:
 * every process that computes calls it once at start (workers, the API for online prediction, benchmarks, tests).
 */
export function applyComputeConfig(compute: ComputeConfig): void {
  forceComputeBackend(compute.backend);
  if (compute.kmeansThreads === undefined) delete KMEANS_PARALLEL.threads;
  else KMEANS_PARALLEL.threads = compute.kmeansThreads;
}
