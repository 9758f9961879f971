import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../../../ml/backend';
import { KMEANS_PARALLEL, KMeansParams, KMeansResult, kmeans } from '../../../../ml/clustering/kmeans/kmeans';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from '../../../../ml/clustering/block-size';
import { Random } from '../../../../ml/random';
import { expectRejects } from '../../../support/expect-rejects';

function blobs(n: number, d: number, centers: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const c = Array.from({ length: centers * d }, () => (rng.nextFloat() - 0.5) * 20);
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const m = rng.nextInt(centers);
    for (let j = 0; j < d; j++) points[i * d + j] = c[m * d + j] + rng.nextFloat() - 0.5;
  }
  return points;
}

/** Runs with the pool forced to `threads` threads (1: the single-thread path), restoring the settings after. */
async function withThreads<T>(threads: number, f: () => Promise<T>): Promise<T> {
  const saved = { ...KMEANS_PARALLEL };
  KMEANS_PARALLEL.threads = threads;
  KMEANS_PARALLEL.minWork = 0;
  try {
    return await f();
  } finally {
    Object.assign(KMEANS_PARALLEL, saved);
    if (saved.threads === undefined) delete KMEANS_PARALLEL.threads;
  }
}

function expectSame(a: KMeansResult, b: KMeansResult): void {
  expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
  expect(a.iterations).to.equal(b.iterations);
  expect(a.converged).to.equal(b.converged);
  expect(a.clusterSizes).to.deep.equal(b.clusterSizes);
  expect(a.inertia).to.be.closeTo(b.inertia, 1e-9 * b.inertia);
  a.centroids.forEach((c, i) =>
    c.forEach((v, j) => expect(v).to.be.closeTo(b.centroids[i][j], 1e-9 * (1 + Math.abs(v)))),
  );
}

describe('ml/clustering/kmeans on worker threads', () => {
  // k = 300 makes a block 13,981 rows, so 40,000 rows span 3 blocks and can be split between threads.
  const k = 300;
  const n = 40_000;
  const d = 8;
  const points = blobs(n, d, 40, 5);

  let backend: { name: string };
  before(async function () {
    backend = await initComputeBackend();
    expect(n).to.be.greaterThan(2 * Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / k));
  });

  for (const threads of [2, 3]) {
    for (const init of ['k-means++', 'random'] as const) {
      it(`${threads} threads give the same result as one (${init})`, async () => {
        const params: KMeansParams = { k, seed: 3, init, maxIterations: 8, tolerance: 0 };
        const single = await withThreads(1, () => kmeans(points, n, d, params));
        const before = tf.memory().numTensors;
        const parallel = await withThreads(threads, () => kmeans(points, n, d, params));
        expect(tf.memory().numTensors).to.equal(before);
        expect(single.threads).to.equal(1);
        // The pool serves the wasm backend only (native backends thread internally); there it must really start.
        expect(parallel.threads).to.equal(backend.name === 'wasm' ? threads : 1);
        expectSame(parallel, single);
      });
    }
  }

  it('relocates empty clusters the same way', async () => {
    // Every initial centroid at one point: all but one cluster start empty.
    const init = Array.from({ length: k }, () => Array.from(points.subarray(0, d)));
    const params: KMeansParams = { k, init, maxIterations: 3, tolerance: 0 };
    const single = await withThreads(1, () => kmeans(points, n, d, params));
    const parallel = await withThreads(2, () => kmeans(points, n, d, params));
    expectSame(parallel, single);
  });

  it('stops on abort and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    await withThreads(2, () =>
      expectRejects(
        kmeans(
          points,
          n,
          d,
          { k, seed: 1, maxIterations: 50, tolerance: 0 },
          { signal: controller.signal, onIteration: (p) => (p.iteration === 2 ? controller.abort() : undefined) },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      ),
    );
    expect(tf.memory().numTensors).to.equal(before);
  });
});
