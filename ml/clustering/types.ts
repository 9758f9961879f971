/**
 * The one shape every clustering algorithm returns to the activity that runs it, so jobs, results, quality metrics
 * and the model registry treat all algorithms alike.
 */
export interface ClusteringHooks {
  /** Called at natural checkpoints (an iteration, a block of points); awaited; becomes the job's heartbeat. */
  onProgress?(progress: Record<string, number | string | boolean>): void | Promise<void>;
  /** Checked at the same checkpoints; an aborted run throws an Error named 'AbortError' after releasing its tensors. */
  signal?: AbortSignal;
}

export interface ClusteringOutput {
  /** One label per point; -1 marks noise (DBSCAN). */
  labels: Int32Array;
  /** Number of clusters found (excluding noise). */
  clusters: number;
  /** scikit-learn's inertia_ (inertia.ts): Σ squared distance to the closest of `centres`, where there are centres. */
  inertia?: number;
  iterations?: number;
  converged?: boolean;
  /** How the work was done where it depends on input or backend (e.g. "grid index, d ≤ 3" vs "blocked tensor distances"). */
  method?: string;
  /** Algorithm-specific results returned to the user: centroids, merge tree, codebook, cells, probabilities... */
  extras: Record<string, unknown>;
  /**
   * The centres that the labels index, each point labelled with its closest one (k-means and mini-batch centroids, SOM
   * units), k rows of d numbers: the quality metrics' inertia is measured against them (inertia.ts), as `inertia`
   * is. Absent for algorithms without such centres (their quality inertia is about the cluster means).
   */
  centres?: number[][];
  /** Present for algorithms that can assign new points: what the model registry stores (centroids, codebook, ...). */
  model?: { flavor: string } & Record<string, unknown>;
}

/** A documented input-size limit; the API turns it into a 4xx naming the limit and the scalable alternative. */
export interface AlgorithmLimit {
  maxPoints: number;
  why: string;
  alternative?: string;
}
