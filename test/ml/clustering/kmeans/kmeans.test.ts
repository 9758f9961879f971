import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../../../ml/backend';
import {
  KMEANS_DEFAULTS,
  KMeansParams,
  KMeansProgress,
  KMeansResult,
  kmeans,
} from '../../../../ml/clustering/kmeans/kmeans';
import { adjustedRandIndex, samePartition } from '../../../../ml/clustering/agreement';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from '../../../../ml/clustering/block-size';
import { Random } from '../../../../ml/random';
import { BlobFixture, fixtureDir } from '../../../fixtures/kmeans/make-fixtures';
import { expectRejects } from '../../../support/expect-rejects';

interface Data {
  points: Float32Array;
  n: number;
  d: number;
}

function loadFixture(name: string): Omit<BlobFixture, 'points'> & Data {
  const fixture = JSON.parse(fs.readFileSync(path.join(fixtureDir(), `${name}.json`), 'utf8')) as BlobFixture;
  return { ...fixture, points: Float32Array.from(fixture.points.flat()) };
}

function uniform(n: number, d: number, seed: number): Data {
  const rng = new Random(seed);
  return { points: Float32Array.from({ length: n * d }, () => rng.nextFloat() * 10), n, d };
}

/** Each of `values` (rows of length d) repeated `copies` times, interleaved; labels say which value a row is. */
function duplicates(values: number[][], copies: number): Data & { labels: number[] } {
  const labels = Array.from({ length: values.length * copies }, (_, i) => i % values.length);
  return { points: Float32Array.from(labels.flatMap((l) => values[l])), n: labels.length, d: values[0].length, labels };
}

function row(data: Data, i: number): number[] {
  return Array.from(data.points.subarray(i * data.d, (i + 1) * data.d));
}

function sqDist(a: number[], b: number[]): number {
  return a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0);
}

/**
 * Checks a result against float64 recomputation on the host: shapes, every label is a nearest centroid (up to
 * float32 round-off), inertia is Σ squared distance to the assigned centroid, and clusterSizes counts the labels.
 */
function expectConsistent(data: Data, k: number, r: KMeansResult): void {
  expect(r.labels).to.be.instanceOf(Int32Array);
  expect(r.labels.length).to.equal(data.n);
  expect(r.centroids.length).to.equal(k);
  for (const c of r.centroids) expect(c.length).to.equal(data.d);
  const sizes = new Array<number>(k).fill(0);
  let inertia = 0;
  let scale = 0;
  for (let i = 0; i < data.n; i++) {
    const x = row(data, i);
    const label = r.labels[i];
    expect(label).to.be.within(0, k - 1);
    sizes[label]++;
    const dists = r.centroids.map((c) => sqDist(x, c));
    const best = Math.min(...dists);
    scale = Math.max(scale, ...x.map((v) => v * v));
    expect(dists[label], `row ${i} is not assigned to a nearest centroid`).to.be.at.most(best + 1e-5 * (1 + scale));
    inertia += dists[label];
  }
  expect(r.clusterSizes).to.deep.equal(sizes);
  expect(r.inertia).to.be.closeTo(inertia, 1e-5 * (1 + inertia));
}

/** Per-feature variance averaged over features: what the convergence tolerance is relative to. */
function meanVariance(data: Data): number {
  let total = 0;
  for (let j = 0; j < data.d; j++) {
    let mean = 0;
    for (let i = 0; i < data.n; i++) mean += data.points[i * data.d + j];
    mean /= data.n;
    for (let i = 0; i < data.n; i++) total += (data.points[i * data.d + j] - mean) ** 2;
  }
  return total / (data.n * data.d);
}

async function run(data: Data, params: KMeansParams, progress: KMeansProgress[] = []): Promise<KMeansResult> {
  return kmeans(data.points, data.n, data.d, params, { onIteration: (p) => void progress.push(p) });
}

describe('ml/clustering/kmeans', () => {
  before(async () => {
    await initComputeBackend();
  });

  describe('recovers known partitions', () => {
    for (const name of ['blobs-2d', 'blobs-8d']) {
      for (const seed of [0, 1, 2]) {
        it(`${name}, k-means++, seed ${seed}`, async () => {
          const f = loadFixture(name);
          const r = await run(f, { k: f.k, seed });
          expect(samePartition(r.labels, f.labels), 'partition differs from the generating blobs').to.equal(true);
          expect(adjustedRandIndex(r.labels, f.labels)).to.equal(1);
          expect(r.converged).to.equal(true);
          expect(r.iterations).to.be.below(KMEANS_DEFAULTS.maxIterations);
          expectConsistent(f, f.k, r);
          // Each centroid is the mean of its blob, whatever id the blob got.
          for (let c = 0; c < f.k; c++) {
            const members = f.labels.map((_, i) => i).filter((i) => r.labels[i] === c);
            const truth = members.map((i) => f.labels[i]);
            expect(new Set(truth).size).to.equal(1);
            for (let j = 0; j < f.d; j++) {
              const mean = members.reduce((s, i) => s + f.points[i * f.d + j], 0) / members.length;
              expect(r.centroids[c][j]).to.be.closeTo(mean, 1e-3);
            }
          }
        });
      }
    }

    it("'random' init gives a consistent, deterministic clustering", async () => {
      const f = loadFixture('blobs-8d');
      const a = await run(f, { k: f.k, seed: 5, init: 'random' });
      const b = await run(f, { k: f.k, seed: 5, init: 'random' });
      expectConsistent(f, f.k, a);
      expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
      expect(a.centroids).to.deep.equal(b.centroids);
    });
  });

  describe('determinism', () => {
    it('the same seed gives identical results', async () => {
      const data = uniform(1500, 3, 7);
      const a = await run(data, { k: 9, seed: 42 });
      const b = await run(data, { k: 9, seed: 42 });
      expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
      expect(a.centroids).to.deep.equal(b.centroids);
      expect(a.inertia).to.equal(b.inertia);
      expect(a.iterations).to.equal(b.iterations);
    });

    it('the seed matters', async () => {
      const data = uniform(1500, 3, 7);
      const base = await run(data, { k: 9, seed: 0, maxIterations: 1 });
      const others = await Promise.all([1, 2, 3].map((seed) => run(data, { k: 9, seed, maxIterations: 1 })));
      expect(others.some((o) => JSON.stringify(o.centroids) !== JSON.stringify(base.centroids))).to.equal(true);
    });
  });

  describe('edge cases', () => {
    it('k = 1 gives the mean and the total sum of squares', async () => {
      const data = uniform(500, 4, 3);
      const r = await run(data, { k: 1 });
      expect(Array.from(new Set(r.labels))).to.deep.equal([0]);
      expect(r.clusterSizes).to.deep.equal([data.n]);
      expect(r.converged).to.equal(true);
      for (let j = 0; j < data.d; j++) {
        let mean = 0;
        for (let i = 0; i < data.n; i++) mean += data.points[i * data.d + j] / data.n;
        expect(r.centroids[0][j]).to.be.closeTo(mean, 1e-5);
      }
      const totalSumOfSquares = meanVariance(data) * data.n * data.d;
      expect(r.inertia).to.be.closeTo(totalSumOfSquares, 1e-5 * totalSumOfSquares);
      expectConsistent(data, 1, r);
    });

    it('k = n puts every point in its own cluster with zero inertia', async () => {
      const rng = new Random(9);
      const n = 60;
      const ids = rng.sampleDistinct(400, n); // distinct grid cells, so distinct points
      const data: Data = { points: Float32Array.from(ids.flatMap((c) => [c % 20, Math.floor(c / 20)])), n, d: 2 };
      const r = await run(data, { k: n });
      expect(new Set(r.labels).size).to.equal(n);
      expect(r.clusterSizes.every((s) => s === 1)).to.equal(true);
      expect(r.inertia).to.be.at.most(1e-9);
      expect(r.converged).to.equal(true);
      for (let i = 0; i < n; i++) {
        const c = r.centroids[r.labels[i]];
        expect(sqDist(c, row(data, i))).to.be.at.most(1e-9);
      }
    });

    it('duplicate points form exact clusters', async () => {
      const data = duplicates(
        [
          [1, 1],
          [1, 5],
          [6, 3],
        ],
        20,
      );
      const r = await run(data, { k: 3 });
      expect(samePartition(r.labels, data.labels)).to.equal(true);
      expect(r.inertia).to.be.at.most(1e-9);
      expect(r.converged).to.equal(true);
    });

    it('more clusters than distinct points: no error, identical points share a cluster', async () => {
      const data = duplicates(
        [
          [1, 1],
          [1, 5],
          [6, 3],
        ],
        10,
      );
      const r = await run(data, { k: 5, seed: 4 });
      expect(samePartition(r.labels, data.labels)).to.equal(true);
      expect(r.inertia).to.be.at.most(1e-9);
      expect(r.clusterSizes.filter((s) => s === 0)).to.have.length(2);
      expect(r.converged).to.equal(true);
    });

    it("empty clusters from 'random' init are relocated to far points", async () => {
      // 3 values × 20 copies: a random pick of 3 rows often repeats a value, leaving a cluster empty in the first
      // assignment. Relocating it to the farthest point still finds all three values; keeping the stale centroid
      // would not.
      const data = duplicates(
        [
          [0, 0],
          [0, 9],
          [12, 0],
        ],
        20,
      );
      for (let seed = 0; seed < 10; seed++) {
        const r = await run(data, { k: 3, seed, init: 'random' });
        expect(samePartition(r.labels, data.labels), `seed ${seed}`).to.equal(true);
        expect(r.inertia).to.be.at.most(1e-9);
      }
    });

    it('is consistent when the distance matrix spans several blocks', async () => {
      const k = 64;
      const n = Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / k) + 3001;
      expect(n * k).to.be.greaterThan(MAX_DISTANCE_CELLS_PER_BLOCK);
      const data = uniform(n, 2, 13);
      const before = tf.memory().numTensors;
      const r = await run(data, { k, seed: 1, maxIterations: 3 });
      expect(tf.memory().numTensors).to.equal(before);
      expectConsistent(data, k, r);
    });
  });

  describe('iterations and convergence', () => {
    const data = uniform(2000, 2, 21);

    it('stops at maxIterations with converged = false', async () => {
      const progress: KMeansProgress[] = [];
      const r = await run(data, { k: 16, maxIterations: 2, tolerance: 0 }, progress);
      expect(r.converged).to.equal(false);
      expect(r.iterations).to.equal(2);
      expect(progress.map((p) => p.iteration)).to.deep.equal([1, 2]);
      expect(progress.every((p) => p.maxIterations === 2)).to.equal(true);
      expectConsistent(data, 16, r);
    });

    it('stops at the first iteration whose centroid shift is within tolerance × mean variance', async () => {
      const tolerance = 1e-4;
      const progress: KMeansProgress[] = [];
      const r = await run(data, { k: 16, tolerance }, progress);
      const threshold = tolerance * meanVariance(data);
      expect(r.converged).to.equal(true);
      expect(progress).to.have.length(r.iterations);
      expect(r.iterations).to.be.above(2);
      expect(progress[progress.length - 1].shift).to.be.at.most(threshold);
      for (const p of progress.slice(0, -1)) expect(p.shift).to.be.above(threshold);
    });

    it('reports non-increasing inertia, ending at or above the final inertia', async () => {
      const progress: KMeansProgress[] = [];
      const r = await run(data, { k: 16, tolerance: 0 }, progress);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i].inertia).to.be.at.most(progress[i - 1].inertia * (1 + 1e-5));
      }
      expect(r.inertia).to.be.at.most(progress[progress.length - 1].inertia * (1 + 1e-5));
    });

    it('with tolerance 0 converges only when centroids stop moving', async () => {
      const progress: KMeansProgress[] = [];
      const r = await run(data, { k: 16, tolerance: 0 }, progress);
      expect(r.converged).to.equal(true);
      expect(progress[progress.length - 1].shift).to.equal(0);
      expect(progress.slice(0, -1).every((p) => p.shift > 0)).to.equal(true);
    });

    it('awaits an async onIteration before continuing', async () => {
      const events: string[] = [];
      await kmeans(
        data.points,
        data.n,
        data.d,
        { k: 4, maxIterations: 3, tolerance: 0 },
        {
          onIteration: async (p) => {
            events.push(`start ${p.iteration}`);
            await new Promise((resolve) => setTimeout(resolve, 5));
            events.push(`end ${p.iteration}`);
          },
        },
      );
      expect(events).to.deep.equal(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    });
  });

  describe('abort', () => {
    const data = uniform(2000, 2, 31);

    it('throws AbortError when the signal is aborted during a run, and frees its tensors', async () => {
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const seen: number[] = [];
      await expectRejects(
        kmeans(
          data.points,
          data.n,
          data.d,
          { k: 16, tolerance: 0 },
          {
            signal: controller.signal,
            onIteration: (p) => {
              seen.push(p.iteration);
              if (p.iteration === 2) controller.abort();
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(seen).to.deep.equal([1, 2]);
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('throws AbortError before any work when already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      let calls = 0;
      await expectRejects(
        kmeans(data.points, data.n, data.d, { k: 4 }, { signal: controller.signal, onIteration: () => void calls++ }),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(calls).to.equal(0);
    });

    it('lets a timer abort it (yields to the event loop between iterations)', async () => {
      const controller = new AbortController();
      await expectRejects(
        kmeans(
          data.points,
          data.n,
          data.d,
          { k: 16, tolerance: 0 },
          {
            signal: controller.signal,
            onIteration: (p) => {
              if (p.iteration === 1) setTimeout(() => controller.abort(), 0);
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
    });
  });

  describe('resources', () => {
    for (const init of ['k-means++', 'random'] as const) {
      it(`leaves tf.memory().numTensors unchanged (${init})`, async () => {
        const f = loadFixture('blobs-8d');
        const before = tf.memory().numTensors;
        await run(f, { k: f.k, init });
        await run(f, { k: 40, init, maxIterations: 5 });
        expect(tf.memory().numTensors).to.equal(before);
      });
    }
  });

  describe('argument validation', () => {
    const data = uniform(10, 2, 1);
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['k = 0', () => kmeans(data.points, 10, 2, { k: 0 }), /\bk\b/],
      ['k not an integer', () => kmeans(data.points, 10, 2, { k: 2.5 }), /\bk\b/],
      ['k > n', () => kmeans(data.points, 10, 2, { k: 11 }), /\bk\b.*\bn\b/],
      ['n*d != points.length', () => kmeans(data.points, 10, 3, { k: 2 }), /points\.length/],
      ['n = 0', () => kmeans(new Float32Array(0), 0, 2, { k: 1 }), /\bn\b/],
      ['d = 0', () => kmeans(data.points, 10, 0, { k: 1 }), /\bd\b/],
      ['maxIterations = 0', () => kmeans(data.points, 10, 2, { k: 2, maxIterations: 0 }), /maxIterations/],
      ['negative tolerance', () => kmeans(data.points, 10, 2, { k: 2, tolerance: -1 }), /tolerance/],
      ['NaN tolerance', () => kmeans(data.points, 10, 2, { k: 2, tolerance: NaN }), /tolerance/],
      ['non-integer seed', () => kmeans(data.points, 10, 2, { k: 2, seed: 0.5 }), /seed/],
      ['unknown init', () => kmeans(data.points, 10, 2, { k: 2, init: 'kmeans||' as 'random' }), /init/],
      ['points not Float32Array', () => kmeans([1, 2] as unknown as Float32Array, 1, 2, { k: 1 }), /points/],
      ['NaN in points', () => kmeans(Float32Array.from([1, 2, NaN, 4]), 2, 2, { k: 1 }), /points.*row 1, column 0/],
    ];
    for (const [name, call, pattern] of cases) {
      it(`rejects ${name} with a RangeError naming the parameter`, async () => {
        await expectRejects(call(), (err) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(pattern);
        });
      });
    }
  });
});

describe('ml/clustering/kmeans with explicit initial centroids', () => {
  it('starts from the given centroids (one Lloyd step from a known start)', async () => {
    // Two points per side; starting centroids on each side converge to the side means.
    const points = new Float32Array([0, 0, 0, 2, 10, 0, 10, 2]);
    const result = await kmeans(points, 4, 2, {
      k: 2,
      init: [
        [1, 1],
        [9, 1],
      ],
    });
    expect(result.centroids).to.deep.equal([
      [0, 1],
      [10, 1],
    ]);
    expect(Array.from(result.labels)).to.deep.equal([0, 0, 1, 1]);
    // Swapping the given start swaps the cluster ids: the start really was used.
    const swapped = await kmeans(points, 4, 2, {
      k: 2,
      init: [
        [9, 1],
        [1, 1],
      ],
    });
    expect(Array.from(swapped.labels)).to.deep.equal([1, 1, 0, 0]);
  });

  it('rejects centroids of the wrong shape', async () => {
    let error: unknown;
    await kmeans(new Float32Array([0, 0, 1, 1]), 2, 2, { k: 2, init: [[0, 0]] }).catch((err) => (error = err));
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.match(/init/);
  });
});
