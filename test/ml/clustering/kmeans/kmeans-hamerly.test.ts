import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../../../../common/paths';
import { initComputeBackend } from '../../../../ml/backend';
import {
  HAMERLY,
  KMEANS_PARALLEL,
  KMeansParams,
  KMeansResult,
  kmeans,
  kmeansMethod,
} from '../../../../ml/clustering/kmeans/kmeans';
import { roundDown, roundUp } from '../../../../ml/clustering/kmeans/bounds';
import { Random } from '../../../../ml/random';
import { fixtureDir } from '../../../fixtures/kmeans/make-fixtures';

const SKLEARN = path.join(repoRoot, 'test', 'fixtures', 'sklearn');

/** Every field of the two results equal, bit for bit, except how they were computed. */
function expectIdentical(hamerly: KMeansResult, lloyd: KMeansResult): void {
  expect(lloyd.algorithm).to.equal('lloyd');
  expect(hamerly.algorithm).to.equal('hamerly');
  let differing = 0;
  for (let i = 0; i < lloyd.labels.length; i++) if (hamerly.labels[i] !== lloyd.labels[i]) differing++;
  expect(differing, 'labels that differ').to.equal(0);
  expect(hamerly.centroids).to.deep.equal(lloyd.centroids);
  expect(hamerly.inertia).to.equal(lloyd.inertia);
  expect(hamerly.iterations).to.equal(lloyd.iterations);
  expect(hamerly.converged).to.equal(lloyd.converged);
  expect(hamerly.clusterSizes).to.deep.equal(lloyd.clusterSizes);
}

async function both(points: Float32Array, n: number, d: number, params: KMeansParams) {
  const lloyd = await kmeans(points, n, d, { ...params, algorithm: 'lloyd' });
  const hamerly = await kmeans(points, n, d, { ...params, algorithm: 'hamerly' });
  return { lloyd, hamerly };
}

function blobs(n: number, d: number, centers: number, spread: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const c = Array.from({ length: centers * d }, () => (rng.nextFloat() - 0.5) * 20);
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const m = rng.nextInt(centers);
    for (let j = 0; j < d; j++) points[i * d + j] = c[m * d + j] + spread * rng.nextGaussian();
  }
  return points;
}

/** Small integers: many exact ties between centroids, the case where float32 rounding decides. */
function grid(n: number, d: number, seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n * d }, () => rng.nextInt(5));
}

describe('ml/clustering/kmeans with Hamerly bounds', () => {
  let backend: { name: string };
  before(async () => {
    backend = await initComputeBackend();
  });

  it("a row's scores do not depend on the other rows in the product (what re-scoring gathered rows relies on)", () => {
    const rng = new Random(3);
    for (const [n, d, k] of [
      [3000, 33, 64],
      [2000, 4, 256],
      [1500, 9, 7],
    ]) {
      const x = Float32Array.from({ length: n * d }, () => rng.nextGaussian() * 10);
      const c = Float32Array.from({ length: d * k }, () => rng.nextGaussian() * 10);
      const full = tf.tidy(() => tf.matMul(tf.tensor2d(x, [n, d]), tf.tensor2d(c, [d, k])).dataSync());
      for (const m of [1, 2, 5, 37]) {
        const rows = Array.from({ length: m }, () => rng.nextInt(n));
        const sub = new Float32Array(m * d);
        rows.forEach((r, i) => sub.set(x.subarray(r * d, (r + 1) * d), i * d));
        const part = tf.tidy(() => tf.matMul(tf.tensor2d(sub, [m, d]), tf.tensor2d(c, [d, k])).dataSync());
        rows.forEach((r, i) =>
          expect(Array.from(part.subarray(i * k, (i + 1) * k))).to.deep.equal(
            Array.from(full.subarray(r * k, (r + 1) * k)),
          ),
        );
      }
    }
  });

  it('stores bounds rounded outward', () => {
    const rng = new Random(9);
    for (let t = 0; t < 10_000; t++) {
      const v = rng.nextFloat() * 10 ** (rng.nextInt(40) - 20);
      expect(roundUp(v)).to.be.at.least(v);
      expect(roundDown(v)).to.be.at.most(v);
    }
    expect(roundUp(0)).to.be.at.least(0);
    expect(roundDown(0)).to.be.at.most(0);
  });

  describe('gives exactly the labels and centroids of plain Lloyd', () => {
    const files = fs
      .readdirSync(SKLEARN)
      .filter((f) => /^kmeans(-random)?__.+\.json$/.test(f))
      .sort();
    for (const file of files) {
      it(`scikit-learn fixture ${file}`, async () => {
        const fixture = JSON.parse(fs.readFileSync(path.join(SKLEARN, file), 'utf8')) as {
          dataset: string;
          params: KMeansParams;
        };
        const data = JSON.parse(fs.readFileSync(path.join(SKLEARN, `${fixture.dataset}.json`), 'utf8')) as {
          points: number[][];
        };
        const d = data.points[0].length;
        const points = Float32Array.from(data.points.flat());
        // More clusters than scikit-learn's fixture asks for too, where bounds have more to skip.
        for (const k of [fixture.params.k, 16]) {
          const { lloyd, hamerly } = await both(points, data.points.length, d, { ...fixture.params, k });
          expectIdentical(hamerly, lloyd);
        }
      });
    }

    for (const name of ['blobs-2d', 'blobs-8d']) {
      it(`k-means fixture ${name}`, async () => {
        const fixture = JSON.parse(fs.readFileSync(path.join(fixtureDir(), `${name}.json`), 'utf8')) as {
          points: number[][];
          n: number;
          d: number;
          k: number;
        };
        const points = Float32Array.from(fixture.points.flat());
        for (const seed of [0, 1, 2]) {
          const { lloyd, hamerly } = await both(points, fixture.n, fixture.d, { k: fixture.k, seed });
          expectIdentical(hamerly, lloyd);
        }
      });
    }

    for (const k of [2, 3, 5, 8, 17, 64, 128, 256]) {
      it(`random data, k = ${k}`, async () => {
        const n = 2_000;
        for (const [d, spread, init] of [
          [2, 1, 'k-means++'],
          [7, 3, 'random'],
          [16, 0.5, 'k-means++'],
        ] as const) {
          const points = blobs(n, d, Math.max(2, Math.floor(k / 2)), spread, k * 31 + d);
          const params: KMeansParams = { k, init, seed: k + d, maxIterations: 25, tolerance: 0 };
          const { lloyd, hamerly } = await both(points, n, d, params);
          expectIdentical(hamerly, lloyd);
        }
        const ties = grid(n, 3, k);
        const { lloyd, hamerly } = await both(ties, n, 3, { k, init: 'random', seed: 1, maxIterations: 25 });
        expectIdentical(hamerly, lloyd);
      });
    }

    it('with the worker pool, and with empty clusters relocated', async () => {
      const saved = { ...KMEANS_PARALLEL };
      KMEANS_PARALLEL.threads = 2;
      KMEANS_PARALLEL.minWork = 0;
      try {
        const n = 40_000;
        const d = 8;
        const points = blobs(n, d, 40, 1, 5);
        // k = 300 splits 40,000 rows into 3 blocks, shared between the two threads.
        const pooled = await both(points, n, d, { k: 300, seed: 3, maxIterations: 8, tolerance: 0 });
        expect(pooled.hamerly.threads).to.equal(backend.name === 'wasm' ? 2 : 1);
        expectIdentical(pooled.hamerly, pooled.lloyd);
        const init = Array.from({ length: 50 }, () => Array.from(points.subarray(0, d)));
        const relocated = await both(points, n, d, { k: 50, init, maxIterations: 6, tolerance: 0 });
        expectIdentical(relocated.hamerly, relocated.lloyd);
      } finally {
        Object.assign(KMEANS_PARALLEL, saved);
        if (saved.threads === undefined) delete KMEANS_PARALLEL.threads;
      }
    });
  });

  it('skips most scoring once clusters settle, and records the method', async () => {
    const n = 20_000;
    const d = 8;
    const points = blobs(n, d, 40, 1, 11);
    const before = tf.memory().numTensors;
    const r = await kmeans(points, n, d, { k: 64, seed: 2, maxIterations: 30, tolerance: 0 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(r.algorithm).to.equal(kmeansMethod('auto', 64, backend.name));
    if (r.algorithm === 'hamerly') expect(r.scoredFraction).to.be.below(0.5);
    const lloyd = await kmeans(points, n, d, { k: 64, seed: 2, maxIterations: 30, tolerance: 0, algorithm: 'lloyd' });
    expect(lloyd.scoredFraction).to.equal(1);
  });

  it("'auto' picks Hamerly for k ≥ HAMERLY.minK on wasm and cpu, Lloyd otherwise", () => {
    expect(kmeansMethod('auto', HAMERLY.minK, 'wasm')).to.equal('hamerly');
    expect(kmeansMethod('auto', HAMERLY.minK, 'cpu')).to.equal('hamerly');
    expect(kmeansMethod('auto', HAMERLY.minK - 1, 'wasm')).to.equal('lloyd');
    expect(kmeansMethod('auto', 64, 'tfjs-node-gpu')).to.equal('lloyd');
    expect(kmeansMethod('hamerly', 2, 'tfjs-node')).to.equal('hamerly');
    expect(kmeansMethod('hamerly', 1, 'wasm')).to.equal('lloyd');
    expect(kmeansMethod('lloyd', 64, 'wasm')).to.equal('lloyd');
  });

  it('rejects an unknown algorithm', async () => {
    const points = blobs(100, 2, 3, 1, 1);
    let error: unknown;
    try {
      await kmeans(points, 100, 2, { k: 3, algorithm: 'elkan' as never });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.match(/algorithm must be one of auto, lloyd, hamerly/);
  });
});
