import { expect } from 'chai';
import {
  NormalizedGraphOperator,
  nearestNeighbors,
  symmetricGraph,
} from '../../../../ml/clustering/spectral/knn-graph';
import { GRAPH_PARALLEL, ParallelGraphOperator } from '../../../../ml/clustering/spectral/graph-pool';
import { spectral } from '../../../../ml/clustering/spectral/spectral';
import { KMEANS_PARALLEL } from '../../../../ml/clustering/kmeans/kmeans';
import { Random } from '../../../../ml/random';

function blobs(n: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const points = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(4);
    points[i * 2] = (c % 2) * 6 + rng.nextGaussian();
    points[i * 2 + 1] = Math.floor(c / 2) * 6 + rng.nextGaussian();
  }
  return points;
}

/** Runs f with the graph products split over `threads` threads whatever their size, restoring the settings after. */
async function withSplit<T>(threads: number, f: () => Promise<T>): Promise<T> {
  const saved = { minWork: GRAPH_PARALLEL.minWork, threads: KMEANS_PARALLEL.threads };
  GRAPH_PARALLEL.minWork = 0;
  KMEANS_PARALLEL.threads = threads;
  try {
    return await f();
  } finally {
    GRAPH_PARALLEL.minWork = saved.minWork;
    if (saved.threads === undefined) delete KMEANS_PARALLEL.threads;
    else KMEANS_PARALLEL.threads = saved.threads;
  }
}

describe('ml/clustering/spectral/graph-pool', () => {
  it('splits a product by rows over threads, bit-identical to one thread', async () => {
    const n = 3_000;
    const coords = Float64Array.from(blobs(n, 1));
    const graph = symmetricGraph(await nearestNeighbors(coords, n, 2, 7, async () => {}), n);
    const b = 13; // 8 + 4 + 1 columns: every kernel
    const rng = new Random(2);
    const x = Float64Array.from({ length: n * b }, () => rng.nextGaussian());
    const z = Float64Array.from({ length: n * b }, () => rng.nextGaussian());
    const one = new NormalizedGraphOperator(graph);
    for (const threads of [2, 3]) {
      const saved = GRAPH_PARALLEL.minWork;
      GRAPH_PARALLEL.minWork = 0;
      const split = await ParallelGraphOperator.start(graph, threads, b);
      GRAPH_PARALLEL.minWork = saved;
      expect(split, 'the pool starts').to.not.equal(undefined);
      try {
        expect(Array.from(await split!.applyCombined(x, b, 0.5, -2, 0.25, z))).to.deep.equal(
          Array.from(await one.applyCombined(x, b, 0.5, -2, 0.25, z)),
        );
        expect(Array.from(await split!.apply(x, b))).to.deep.equal(Array.from(await one.apply(x, b)));
      } finally {
        await split!.close();
      }
    }
  });

  it('is not started for small products or one thread', async () => {
    const n = 500;
    const graph = symmetricGraph(await nearestNeighbors(Float64Array.from(blobs(n, 3)), n, 2, 5, async () => {}), n);
    expect(await ParallelGraphOperator.start(graph, 1, 16)).to.equal(undefined);
    expect(await ParallelGraphOperator.start(graph, 2, 16)).to.equal(undefined); // below GRAPH_PARALLEL.minWork
  });

  it('spectral() gives the same labels and eigenvalues with the products split', async () => {
    const n = 2_000;
    const points = blobs(n, 4);
    const params = { k: 3, affinity: 'nearest-neighbors' as const, nNeighbors: 8, seed: 1, nInit: 2 };
    const single = await withSplit(1, () => spectral(points, n, 2, params));
    const split = await withSplit(2, () => spectral(points, n, 2, params));
    expect(split.method).to.match(/2 threads/);
    expect(single.method).to.not.match(/threads/);
    expect(Array.from(split.labels)).to.deep.equal(Array.from(single.labels));
    expect(split.eigenvalues).to.deep.equal(single.eigenvalues);
    expect(split.products).to.equal(single.products);
  });
});
