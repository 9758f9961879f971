import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../../../../common/paths';
import { initComputeBackend } from '../../../../ml/backend';
import {
  HEARTBEAT_INTERVAL_MS,
  SPECTRAL_DEFAULTS,
  SPECTRAL_LIMITS,
  SPECTRAL_MAX_K,
  SpectralParams,
  SpectralProgress,
  SPECTRAL_TENSOR_GRAPH_TOLERANCE,
  chooseSpectralGraphMethod,
  runSpectral,
  spectral,
  spectralWithMethod,
} from '../../../../ml/clustering/spectral/spectral';
import { SegmentReduction, TensorGraphOperator } from '../../../../ml/clustering/spectral/tensor-graph';
import {
  SymmetricOperator,
  estimateLowerBound,
  largestEigenpairs,
  orthonormalize,
  symmetricEigen,
} from '../../../../ml/clustering/spectral/eigen';
import {
  KnnMethod,
  NormalizedGraphOperator,
  nearestNeighbors,
  symmetricGraph,
} from '../../../../ml/clustering/spectral/knn-graph';
import { KERNEL_TILE, RbfKernelOperator } from '../../../../ml/clustering/spectral/rbf-kernel';
import { adjustedRandIndex, samePartition } from '../../../../ml/clustering/agreement';
import { Random } from '../../../../ml/random';
import { expectRejects } from '../../../support/expect-rejects';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'sklearn');

interface Data {
  points: Float32Array;
  n: number;
  d: number;
}
interface SpectralFixture {
  algorithm: string;
  dataset: string;
  params: { k: number; affinity: 'rbf' | 'nearest_neighbors'; gamma?: number; nNeighbors?: number; seed: number };
  labels: number[];
  ariVsTruth: number;
}

function loadDataset(name: string): Data & { truth: number[] } {
  const ds = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as {
    points: number[][];
    truth: number[];
  };
  return { points: Float32Array.from(ds.points.flat()), n: ds.points.length, d: ds.points[0].length, truth: ds.truth };
}

function spectralFixtures(): { file: string; fixture: SpectralFixture }[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => /^spectral(-nn)?__.+\.json$/.test(f))
    .sort()
    .map((file) => ({
      file,
      fixture: JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as SpectralFixture,
    }));
}

/** The fixture's scikit-learn parameters in Kiln's spelling. */
function kilnParams(f: SpectralFixture): SpectralParams {
  const { k, affinity, gamma, nNeighbors, seed } = f.params;
  return affinity === 'rbf'
    ? { k, affinity: 'rbf', gamma, seed }
    : { k, affinity: 'nearest-neighbors', nNeighbors, seed };
}

function uniform(n: number, d: number, seed: number, scale = 10): Data {
  const rng = new Random(seed);
  return { points: Float32Array.from({ length: n * d }, () => rng.nextFloat() * scale), n, d };
}

/** Gaussian-ish blobs (sum of 4 uniforms) around `centers`, point i in blob i % centers.length. */
function blobs(n: number, centers: number[][], spread: number, seed: number): Data & { truth: number[] } {
  const rng = new Random(seed);
  const d = centers[0].length;
  const truth = Array.from({ length: n }, (_, i) => i % centers.length);
  const points = Float32Array.from(
    truth.flatMap((c) =>
      centers[c].map((v) => v + spread * (rng.nextFloat() + rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 2)),
    ),
  );
  return { points, n, d, truth };
}

/** Each of `values` repeated `copies` times, interleaved; labels say which value a row is. */
function duplicates(values: number[][], copies: number): Data & { labels: number[] } {
  const labels = Array.from({ length: values.length * copies }, (_, i) => i % values.length);
  return { points: Float32Array.from(labels.flatMap((l) => values[l])), n: labels.length, d: values[0].length, labels };
}

function sqDist(p: Float32Array | Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += (p[i * d + t] - p[j * d + t]) ** 2;
  return s;
}

/**
 * Dense float64 reference of M = D^{-1/2} (A − diag A) D^{-1/2} as scipy's normalised Laplacian builds it, for small n.
 */
function denseNormalizedAffinity(data: Data, params: SpectralParams): Float64Array {
  const { n, d, points } = data;
  const a = new Float64Array(n * n);
  if (params.affinity === 'nearest-neighbors') {
    const m = params.nNeighbors ?? SPECTRAL_DEFAULTS.nNeighbors;
    for (let i = 0; i < n; i++) {
      const order = Array.from({ length: n }, (_, j) => j)
        .filter((j) => j !== i)
        .sort((x, y) => sqDist(points, d, i, x) - sqDist(points, d, i, y) || x - y);
      for (const j of order.slice(0, m - 1)) {
        a[i * n + j] += 0.5;
        a[j * n + i] += 0.5;
      }
    }
  } else {
    const gamma = params.gamma ?? SPECTRAL_DEFAULTS.gamma;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (i !== j) a[i * n + j] = Math.exp(-gamma * sqDist(points, d, i, j));
  }
  const deg = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) deg[i] += a[i * n + j];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] /= Math.sqrt(deg[i] * deg[j]) || 1;
  return a;
}

const noCheckpoint = async (): Promise<void> => {};

describe('ml/clustering/spectral', () => {
  before(async () => {
    await initComputeBackend();
  });

  describe('agrees with scikit-learn (test/fixtures/sklearn)', () => {
    const fixtures = spectralFixtures();

    it('has the spectral fixtures to compare with', () => {
      const names = fixtures.map((f) => f.file);
      for (const expected of [
        'spectral__moons.json',
        'spectral__blobs.json',
        'spectral-nn__moons.json',
        'spectral-nn__circles.json',
      ]) {
        expect(names).to.include(expected);
      }
    });

    for (const { file, fixture } of fixtures) {
      it(`${file}: same partition as scikit-learn, eigenvalues match a dense float64 reference`, async () => {
        const data = loadDataset(fixture.dataset);
        const params = kilnParams(fixture);
        const r = await spectral(data.points, data.n, data.d, params);
        const vsSklearn = adjustedRandIndex(r.labels, fixture.labels);
        const vsTruth = adjustedRandIndex(r.labels, data.truth);
        expect(vsSklearn, 'ARI against scikit-learn labels').to.be.at.least(0.95);
        // Wherever scikit-learn recovers the truth, so must we; elsewhere we must be as (in)accurate as it is.
        if (fixture.ariVsTruth >= 0.95) expect(vsTruth, 'ARI against the truth').to.be.at.least(0.95);
        else expect(vsTruth).to.be.closeTo(fixture.ariVsTruth, 0.05);
        expect(r.converged).to.equal(true);
        expect(r.clusters).to.equal(params.k);

        const dense = denseNormalizedAffinity(data, params);
        const reference = symmetricEigen(dense, data.n).values;
        const tolerance = params.affinity === 'rbf' ? 1e-4 : 1e-6;
        r.eigenvalues.forEach((value, j) => expect(value, `eigenvalue ${j}`).to.be.closeTo(reference[j], tolerance));
      });
    }

    it("moons and circles with 'nearest-neighbors' reach ARI ≥ 0.95 against the truth", async () => {
      for (const name of ['moons', 'circles']) {
        const data = loadDataset(name);
        const r = await spectral(data.points, data.n, data.d, { k: 2, affinity: 'nearest-neighbors', nNeighbors: 10 });
        expect(adjustedRandIndex(r.labels, data.truth), name).to.be.at.least(0.95);
      }
    });
  });

  describe('eigensolver', () => {
    it('symmetricEigen returns orthonormal eigenvectors, eigenvalues descending', () => {
      const rng = new Random(3);
      const m = 12;
      const a = new Float64Array(m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) a[i * m + j] = a[j * m + i] = rng.nextFloat() * 2 - 1;
      const { values, vectors } = symmetricEigen(a, m);
      for (let j = 1; j < m; j++) expect(values[j]).to.be.at.most(values[j - 1]);
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < m; q++) {
          let dot = 0;
          for (let r = 0; r < m; r++) dot += vectors[r * m + p] * vectors[r * m + q];
          expect(dot).to.be.closeTo(p === q ? 1 : 0, 1e-12);
        }
        for (let r = 0; r < m; r++) {
          let av = 0;
          for (let c = 0; c < m; c++) av += a[r * m + c] * vectors[c * m + p];
          expect(av).to.be.closeTo(values[p] * vectors[r * m + p], 1e-12);
        }
      }
    });

    it('finds the top eigenpairs of an operator with eigengaps of 1e-5, with a repeated top eigenvalue', async () => {
      // M = Q diag(λ) Qᵀ with λ = 1, 1, 1 − 1e-5, then a band from 1 − 2e-4 down to −0.9 that is dense near its top,
      // like a kNN graph's: plain subspace iteration would need ~10^4 products here.
      const n = 200;
      const rng = new Random(11);
      const lambda = Float64Array.from({ length: n }, (_, i) =>
        i < 2 ? 1 : i === 2 ? 1 - 1e-5 : 1 - 2e-4 - 1.9 * ((i - 3) / (n - 4)) ** 2,
      );
      const q = new Float64Array(n * n);
      for (let i = 0; i < q.length; i++) q[i] = rng.nextFloat() * 2 - 1;
      orthonormalize(q, n, n, rng);
      const op: SymmetricOperator = {
        n,
        lowerBound: -1,
        apply: async (x, b) => {
          // y = Q diag(λ) Qᵀ x
          const t = new Float64Array(n * b);
          for (let r = 0; r < n; r++)
            for (let e = 0; e < n; e++) for (let c = 0; c < b; c++) t[e * b + c] += q[r * n + e] * x[r * b + c];
          for (let e = 0; e < n; e++) for (let c = 0; c < b; c++) t[e * b + c] *= lambda[e];
          const y = new Float64Array(n * b);
          for (let r = 0; r < n; r++)
            for (let e = 0; e < n; e++) for (let c = 0; c < b; c++) y[r * b + c] += q[r * n + e] * t[e * b + c];
          return y;
        },
      };
      const progress: number[] = [];
      const r = await largestEigenpairs(op, {
        k: 3,
        blockSize: 8,
        tolerance: 1e-9,
        maxProducts: 20_000,
        maxAmplification: 1e8,
        seed: 1,
        lowerBoundEstimate: await estimateLowerBound(op, 32, 1),
        onIteration: (p) => void progress.push(p.residual),
      });
      expect(r.converged).to.equal(true);
      expect(Array.from(r.values)).to.have.length(3);
      expect(r.values[0]).to.be.closeTo(1, 1e-12);
      expect(r.values[1]).to.be.closeTo(1, 1e-12);
      expect(r.values[2]).to.be.closeTo(1 - 1e-5, 1e-12);
      expect(Math.max(...r.residuals)).to.be.at.most(1e-9);
      expect(progress[progress.length - 1]).to.be.at.most(1e-9);
      // The third vector is the third column of Q (up to sign): it is separated from the top pair by 1e-5.
      let overlap = 0;
      for (let i = 0; i < n; i++) overlap += r.vectors[i * 3 + 2] * q[i * n + 2];
      expect(Math.abs(overlap)).to.be.closeTo(1, 1e-3);
    });

    it('an estimated lower bound that is too high is corrected, not fatal', async () => {
      const n = 200;
      const lambda = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 1 ? 0.9 : -0.99 + (1.5 * i) / n));
      const op: SymmetricOperator = {
        n,
        lowerBound: -1,
        apply: async (x, b) => x.map((v, t) => v * lambda[Math.floor(t / b)]),
      };
      const r = await largestEigenpairs(op, {
        k: 2,
        blockSize: 4,
        tolerance: 1e-9,
        maxProducts: 5_000,
        maxAmplification: 1e8,
        seed: 2,
        lowerBoundEstimate: 0, // wrong: half the spectrum lies below it
      });
      expect(r.converged).to.equal(true);
      expect(r.values[0]).to.be.closeTo(1, 1e-12);
      expect(r.values[1]).to.be.closeTo(0.9, 1e-12);
    });
  });

  describe('nearest-neighbour graph', () => {
    const methods: KnnMethod[] = ['kd-tree', 'blocked tensor distances'];

    for (const method of methods) {
      it(`${method}: the nNeighbors − 1 nearest other points, as brute force finds them`, async () => {
        for (const d of [2, 5]) {
          const data = uniform(700, d, 17 + d);
          const coords = Float64Array.from(data.points);
          const others = 7;
          const lists = await nearestNeighbors(coords, data.n, d, others, noCheckpoint, method);
          expect(lists.method).to.equal(method);
          for (let i = 0; i < data.n; i++) {
            const expected = Array.from({ length: data.n }, (_, j) => j)
              .filter((j) => j !== i)
              .sort((a, b) => sqDist(coords, d, i, a) - sqDist(coords, d, i, b))
              .slice(0, others);
            const found = Array.from(lists.indices.subarray(i * others, (i + 1) * others));
            expect(
              found.slice().sort((a, b) => a - b),
              `point ${i}, d = ${d}`,
            ).to.deep.equal(expected.sort((a, b) => a - b));
          }
        }
      });
    }

    it('the kd-tree handles many duplicates (each point excludes itself, not its copies)', async () => {
      const data = duplicates(
        [
          [0, 0],
          [5, 5],
        ],
        50,
      );
      const lists = await nearestNeighbors(Float64Array.from(data.points), data.n, 2, 9, noCheckpoint, 'kd-tree');
      for (let i = 0; i < data.n; i++) {
        const found = Array.from(lists.indices.subarray(i * 9, (i + 1) * 9));
        expect(found).to.not.include(i);
        expect(new Set(found).size).to.equal(9);
        for (const j of found) expect(data.labels[j]).to.equal(data.labels[i]);
      }
    });

    it('is symmetrised as 0.5·(A + Aᵀ): weights 1 for mutual neighbours, 0.5 otherwise, no diagonal', async () => {
      const data = uniform(300, 2, 5);
      const lists = await nearestNeighbors(Float64Array.from(data.points), data.n, 2, 4, noCheckpoint);
      const g = symmetricGraph(lists, data.n);
      const weight = (i: number, j: number): number => {
        for (let e = g.rowStart[i]; e < g.rowStart[i + 1]; e++) if (g.cols[e] === j) return g.weights[e];
        return 0;
      };
      const listed = (i: number, j: number): boolean =>
        Array.from(lists.indices.subarray(i * 4, i * 4 + 4)).includes(j);
      for (let i = 0; i < data.n; i++) {
        let degree = 0;
        for (let e = g.rowStart[i]; e < g.rowStart[i + 1]; e++) {
          const j = g.cols[e];
          expect(j).to.not.equal(i);
          expect(g.weights[e]).to.equal(0.5 * (Number(listed(i, j)) + Number(listed(j, i))));
          expect(weight(j, i)).to.equal(g.weights[e]);
          degree += g.weights[e];
        }
        expect(g.degrees[i]).to.equal(degree);
      }
      // The normalised operator matches the dense reference.
      const dense = denseNormalizedAffinity(data, { k: 2, affinity: 'nearest-neighbors', nNeighbors: 5 });
      const op = new NormalizedGraphOperator(g);
      const x = Float64Array.from({ length: data.n * 3 }, (_, t) => Math.sin(t));
      const y = await op.apply(x, 3);
      for (let i = 0; i < data.n; i++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let j = 0; j < data.n; j++) s += dense[i * data.n + j] * x[j * 3 + c];
          expect(y[i * 3 + c]).to.be.closeTo(s, 1e-12);
        }
      }
    });
  });

  describe('rbf kernel operator', () => {
    for (const cacheCells of [undefined, 0]) {
      it(`matches the dense float64 kernel across several tiles (${cacheCells === 0 ? 'no cache' : 'cached tiles'})`, async () => {
        const n = KERNEL_TILE + 300; // two row blocks: a diagonal tile each and one off-diagonal pair
        const data = uniform(n, 2, 23, 3);
        const coords = Float64Array.from(data.points);
        const before = tf.memory().numTensors;
        const op = await RbfKernelOperator.create(coords, n, 2, noCheckpoint, cacheCells);
        try {
          const b = 3;
          const x = Float64Array.from({ length: n * b }, (_, t) => Math.cos(t * 0.37));
          const y1 = await op.apply(x, b);
          const y2 = await op.apply(x, b);
          const deg = new Float64Array(n);
          for (let i = 0; i < n; i++)
            for (let j = 0; j < n; j++) if (j !== i) deg[i] += Math.exp(-sqDist(coords, 2, i, j));
          let worst = 0;
          for (let i = 0; i < n; i += 7) {
            expect(op.degrees[i]).to.be.closeTo(deg[i], 1e-5 * deg[i]);
            for (let c = 0; c < b; c++) {
              let s = 0;
              for (let j = 0; j < n; j++)
                if (j !== i) s += (Math.exp(-sqDist(coords, 2, i, j)) / Math.sqrt(deg[i] * deg[j])) * x[j * b + c];
              worst = Math.max(worst, Math.abs(y1[i * b + c] - s));
              expect(y2[i * b + c]).to.equal(y1[i * b + c]);
            }
          }
          expect(worst).to.be.below(1e-5);
          expect(op.lowerBound).to.be.within(-1, 0);
          expect(op.tilesComputed).to.equal(cacheCells === 0 ? 9 : 3);
        } finally {
          op.dispose();
        }
        expect(tf.memory().numTensors).to.equal(before);
      });
    }
  });

  describe('determinism', () => {
    for (const affinity of ['rbf', 'nearest-neighbors'] as const) {
      it(`the same seed gives identical results (${affinity})`, async () => {
        const data = blobs(
          400,
          [
            [0, 0],
            [3, 0],
            [0, 3],
            [3, 3],
          ],
          1,
          8,
        );
        const params: SpectralParams = { k: 4, affinity, gamma: 1, seed: 42 };
        const a = await spectral(data.points, data.n, data.d, params);
        const b = await spectral(data.points, data.n, data.d, params);
        expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
        expect(a.eigenvalues).to.deep.equal(b.eigenvalues);
        expect(a.embeddingInertia).to.equal(b.embeddingInertia);
        expect(a.products).to.equal(b.products);
      });
    }

    it('the seed reaches the eigensolver (different start blocks, same answer)', async () => {
      const data = loadDataset('aniso'); // one connected component: the iterative path
      const runs = await Promise.all(
        [0, 1, 2].map((seed) => spectral(data.points, data.n, data.d, { k: 3, affinity: 'nearest-neighbors', seed })),
      );
      expect(new Set(runs.map((r) => r.products)).size).to.be.above(1);
      for (const r of runs) expect(samePartition(r.labels, runs[0].labels)).to.equal(true);
    });
  });

  describe('edge cases', () => {
    for (const affinity of ['rbf', 'nearest-neighbors'] as const) {
      it(`k = 1 puts everything in one cluster, top eigenvalue 1 (${affinity})`, async () => {
        const data = uniform(200, 3, 4);
        const r = await spectral(data.points, data.n, data.d, { k: 1, affinity, gamma: 0.1 });
        expect(Array.from(new Set(r.labels))).to.deep.equal([0]);
        expect(r.clusters).to.equal(1);
        expect(r.clusterSizes).to.deep.equal([200]);
        expect(r.eigenvalues).to.have.length(1);
        expect(r.eigenvalues[0]).to.be.closeTo(1, 1e-5);
      });

      it(`duplicate points form exact clusters (${affinity})`, async () => {
        const data = duplicates(
          [
            [1, 1],
            [1, 5],
            [6, 3],
          ],
          20,
        );
        const r = await spectral(data.points, data.n, data.d, { k: 3, affinity });
        expect(samePartition(r.labels, data.labels)).to.equal(true);
        expect(r.converged).to.equal(true);
      });

      it(`a constant column changes nothing (${affinity})`, async () => {
        const base = loadDataset('moons');
        const withConstant = Float32Array.from({ length: base.n * 3 }, (_, t) =>
          t % 3 === 2 ? 7.25 : base.points[Math.floor(t / 3) * 2 + (t % 3)],
        );
        const params: SpectralParams = { k: 2, affinity, gamma: 20 };
        const a = await spectral(base.points, base.n, 2, params);
        const b = await spectral(withConstant, base.n, 3, params);
        expect(samePartition(a.labels, b.labels)).to.equal(true);
        expect(adjustedRandIndex(b.labels, base.truth)).to.equal(1);
      });
    }

    it('k = n: every point its own cluster', async () => {
      const data = uniform(6, 2, 12);
      const r = await spectral(data.points, 6, 2, { k: 6, gamma: 0.5 });
      expect(new Set(r.labels).size).to.equal(6);
      expect(r.converged).to.equal(true);
    });

    it('nNeighbors = 1 (only the point itself): all points isolated, no NaN', async () => {
      const data = uniform(50, 2, 2);
      const r = await spectral(data.points, 50, 2, { k: 2, affinity: 'nearest-neighbors', nNeighbors: 1 });
      expect(r.graph.isolatedPoints).to.equal(50);
      expect(r.labels.every((l) => l === 0 || l === 1)).to.equal(true);
      for (const e of r.eigenvalues) expect(e).to.be.closeTo(0, 1e-9);
    });

    it('reports the connected components of a disconnected graph', async () => {
      const data = blobs(
        300,
        [
          [0, 0],
          [50, 0],
          [0, 50],
        ],
        1,
        3,
      );
      const r = await spectral(data.points, data.n, data.d, { k: 3, affinity: 'nearest-neighbors' });
      expect(r.graph.connectedComponents).to.equal(3);
      expect(samePartition(r.labels, data.truth)).to.equal(true);
      for (const e of r.eigenvalues) expect(e).to.be.closeTo(1, 1e-9);
    });

    it('rbf with a large gamma: kernel values underflow to 0, leaving an isolated outlier, without NaN', async () => {
      const data = blobs(
        90,
        [
          [0, 0],
          [40, 0],
          [0, 40],
        ],
        0.3,
        6,
      );
      const points = Float32Array.from([...data.points, 1000, 1000]);
      const r = await spectral(points, data.n + 1, data.d, { k: 3, gamma: 5 });
      expect(r.graph.isolatedPoints).to.equal(1);
      expect(samePartition(r.labels.slice(0, data.n), data.truth)).to.equal(true);
      expect(r.eigenvalues.every(Number.isFinite)).to.equal(true);
      for (const e of r.eigenvalues) expect(e).to.be.closeTo(1, 1e-5);
    });

    it('above d = 8 the graph is built from blocked tensor distances, with the same result', async () => {
      const centers = [Array(10).fill(0), Array(10).fill(4), [...Array(5).fill(4), ...Array(5).fill(0)]];
      const data = blobs(300, centers, 1, 9);
      const before = tf.memory().numTensors;
      const r = await runSpectral(data.points, data.n, data.d, { k: 3, affinity: 'nearest-neighbors' });
      expect(tf.memory().numTensors).to.equal(before);
      expect(r.method).to.match(/blocked tensor distances/);
      expect(adjustedRandIndex(r.labels, data.truth)).to.be.at.least(0.95);
    });
  });

  describe('runSpectral (ClusteringOutput)', () => {
    it('returns labels, clusters, eigenvalues and method, and no model (spectral cannot assign new points)', async () => {
      const data = loadDataset('blobs');
      const progress: SpectralProgress[] = [];
      const out = await runSpectral(
        data.points,
        data.n,
        data.d,
        { k: 3, gamma: 0.5 },
        {
          onProgress: (p) => void progress.push(p as SpectralProgress),
        },
      );
      expect(out.labels).to.be.instanceOf(Int32Array);
      expect(out.labels.length).to.equal(data.n);
      expect(out.clusters).to.equal(3);
      expect(out.converged).to.equal(true);
      expect(out.model).to.equal(undefined);
      expect(out.inertia).to.equal(undefined);
      expect(out.method).to.match(/^rbf kernel, blocked on-the-fly products/);
      expect(out.extras.eigenvalues).to.have.length(3);
      expect(out.extras).to.include.keys('residuals', 'products', 'clusterSizes', 'embeddingInertia', 'graph');
      // Heartbeats: one per eigensolver iteration (numbered from 0), then k-means runs.
      const eig = progress.filter((p) => p.stage === 'eigensolver' && !p.heartbeat);
      expect(eig.map((p) => p.iteration)).to.deep.equal(eig.map((_, i) => i));
      expect(eig[eig.length - 1].residual).to.be.at.most(SPECTRAL_DEFAULTS.eigenTolerance.rbf);
      const runs = new Set(progress.filter((p) => p.stage === 'kmeans').map((p) => p.run));
      expect(runs.size).to.equal(SPECTRAL_DEFAULTS.nInit);
      expect(progress[0].stage).to.equal('affinity');
    });

    it('nearest-neighbors method names the graph builder and the eigensolver path', async () => {
      const aniso = loadDataset('aniso');
      const iterative = await runSpectral(aniso.points, aniso.n, aniso.d, { k: 3, affinity: 'nearest-neighbors' });
      expect(iterative.method).to.match(/^nearest-neighbors graph \(kd-tree\), sparse float64 products/);
      expect(iterative.extras.graph).to.include({ connectedComponents: 1 });
      expect(iterative.iterations).to.be.above(0);

      // Exactly k components: the eigenvectors are the components' D^{1/2}·1, no iteration needed.
      const moons = loadDataset('moons');
      const closed = await runSpectral(moons.points, moons.n, moons.d, { k: 2, affinity: 'nearest-neighbors' });
      expect(closed.method).to.match(/exactly k connected components: eigenvectors in closed form/);
      expect(closed.extras.graph).to.include({ connectedComponents: 2 });
      expect(closed.iterations).to.equal(0);
      expect(closed.extras.eigenvalues).to.deep.equal([1, 1]);
      for (const r of closed.extras.residuals as number[]) expect(r).to.be.below(1e-14);
      expect(adjustedRandIndex(closed.labels, moons.truth)).to.equal(1);
      // With k = 3 the same graph takes the iterative path, and its top two eigenvalues are those 1s.
      const three = await spectral(moons.points, moons.n, moons.d, { k: 3, affinity: 'nearest-neighbors' });
      expect(three.iterations).to.be.above(0);
      expect(three.eigenvalues[0]).to.be.closeTo(1, 1e-12);
      expect(three.eigenvalues[1]).to.be.closeTo(1, 1e-12);
      expect(three.eigenvalues[2]).to.be.below(1 - 1e-6);
    });
  });

  describe('abort', () => {
    for (const affinity of ['rbf', 'nearest-neighbors'] as const) {
      it(`throws AbortError when aborted during the eigensolver, and frees its tensors (${affinity})`, async () => {
        const data = loadDataset('aniso');
        const before = tf.memory().numTensors;
        const controller = new AbortController();
        const seen: number[] = [];
        await expectRejects(
          spectral(
            data.points,
            data.n,
            data.d,
            { k: 3, affinity, eigenTolerance: 1e-12 },
            {
              signal: controller.signal,
              onProgress: (p) => {
                if (p.stage !== 'eigensolver') return;
                seen.push(p.iteration as number);
                if (p.iteration === 1) controller.abort();
              },
            },
          ),
          (err) => expect(err.name).to.equal('AbortError'),
        );
        expect(seen).to.deep.equal([0, 1]);
        expect(tf.memory().numTensors).to.equal(before);
      });
    }

    it('throws AbortError before any work when already aborted', async () => {
      const data = loadDataset('moons');
      const controller = new AbortController();
      controller.abort();
      let calls = 0;
      await expectRejects(
        spectral(data.points, data.n, data.d, { k: 2 }, { signal: controller.signal, onProgress: () => void calls++ }),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(calls).to.equal(0);
    });

    it('lets a timer abort it (yields to the event loop between products)', async () => {
      const data = uniform(3000, 2, 77);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const started = Date.now();
      await expectRejects(
        spectral(
          data.points,
          data.n,
          data.d,
          { k: 4, affinity: 'nearest-neighbors', eigenTolerance: 1e-14 },
          { signal: controller.signal },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(Date.now() - started).to.be.below(5000);
    });

    it('sends a heartbeat when HEARTBEAT_INTERVAL_MS pass between progress reports, and can be aborted from it', async () => {
      // The first eigensolver report takes longer than the interval to handle, so the next checkpoint (before the
      // next product) owes a heartbeat, whatever the machine's speed.
      const data = loadDataset('circles');
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const seen: SpectralProgress[] = [];
      await expectRejects(
        spectral(
          data.points,
          data.n,
          data.d,
          { k: 2, gamma: 20, eigenTolerance: 1e-9 },
          {
            signal: controller.signal,
            onProgress: async (p) => {
              seen.push(p as SpectralProgress);
              if (p.stage === 'eigensolver' && p.iteration === 0)
                await new Promise((r) => setTimeout(r, HEARTBEAT_INTERVAL_MS + 50));
              if (p.heartbeat) controller.abort();
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      const last = seen[seen.length - 1];
      expect(last).to.deep.equal({ stage: 'eigensolver', heartbeat: true });
      expect(seen.filter((p) => p.heartbeat)).to.have.length(1);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });

  describe('resources', () => {
    it('leaves tf.memory().numTensors unchanged (rbf, several tiles, and nearest-neighbors)', async () => {
      const before = tf.memory().numTensors;
      const big = blobs(
        KERNEL_TILE + 100,
        [
          [0, 0],
          [4, 4],
        ],
        1,
        1,
      );
      const r = await spectral(big.points, big.n, big.d, { k: 2, gamma: 1, nInit: 2 });
      expect(adjustedRandIndex(r.labels, big.truth)).to.be.at.least(0.9);
      const moons = loadDataset('moons');
      await spectral(moons.points, moons.n, moons.d, { k: 2, affinity: 'nearest-neighbors' });
      expect(tf.memory().numTensors).to.equal(before);
    });
  });

  describe("tensor path for 'nearest-neighbors' products (forced; chosen only on CUDA)", () => {
    it('is chosen only on tfjs-node-gpu with a CUDA GPU', () => {
      expect(chooseSpectralGraphMethod('tfjs-node-gpu', true)).to.equal('tensor');
      expect(chooseSpectralGraphMethod('tfjs-node-gpu', false)).to.equal('host');
      for (const b of ['tfjs-node', 'wasm', 'cpu'] as const)
        expect(chooseSpectralGraphMethod(b, false)).to.equal('host');
    });

    it('rejects an unknown method', async () => {
      const data = loadDataset('moons');
      await expectRejects(
        spectralWithMethod('gpu' as 'tensor', data.points, data.n, data.d, { k: 2, affinity: 'nearest-neighbors' }),
        (err) => expect(err).to.be.instanceOf(RangeError),
      );
    });

    // Small chunks exercise the chunked path (several row blocks, concatenated); both reductions where the backend
    // has them (wasm has no UnsortedSegmentSum kernel: its default is sparseSegmentSum, checked on 'cpu' too).
    const cases: { reduction: SegmentReduction; backend?: string; edgesPerChunk: number }[] = [
      { reduction: 'sparseSegmentSum', edgesPerChunk: 1 << 18 },
      { reduction: 'sparseSegmentSum', edgesPerChunk: 100 },
      { reduction: 'unsortedSegmentSum', backend: 'cpu', edgesPerChunk: 100 },
    ];
    for (const { reduction, backend, edgesPerChunk } of cases) {
      it(`operator products match the host float64 operator to float32 accuracy (${reduction}${backend ? ` on ${backend}` : ''}, ${edgesPerChunk}-entry chunks)`, async () => {
        const switched = backend !== undefined && tf.getBackend() !== backend;
        if (switched) await tf.setBackend(backend!);
        try {
          const data = loadDataset('aniso');
          const coords = Float64Array.from(data.points);
          // nNeighbors = 1 on a second graph: every point isolated (zero rows, a trailing one included).
          for (const others of [9, 0]) {
            const graph = symmetricGraph(await nearestNeighbors(coords, data.n, data.d, others, noCheckpoint), data.n);
            const host = new NormalizedGraphOperator(graph);
            const before = tf.memory().numTensors;
            const op = new TensorGraphOperator(graph, edgesPerChunk, reduction);
            try {
              const rng = new Random(5);
              const b = 6;
              const x = Float64Array.from({ length: data.n * b }, () => rng.nextFloat() * 2 - 1);
              const want = await host.apply(x, b);
              const got = await op.apply(x, b);
              expect(got.length).to.equal(want.length);
              let err = 0;
              for (let t = 0; t < want.length; t++) err = Math.max(err, Math.abs(got[t] - want[t]));
              expect(err, 'max abs error').to.be.below(1e-6);
            } finally {
              op.dispose();
            }
            expect(tf.memory().numTensors).to.equal(before);
          }
        } finally {
          if (switched) await initComputeBackend();
        }
      });
    }

    for (const { file, fixture } of spectralFixtures().filter((f) => f.file.startsWith('spectral-nn__'))) {
      it(`${file}: ARI ≥ 0.99 against scikit-learn's labels, eigenvalues to float32 accuracy, no tensors left`, async () => {
        const data = loadDataset(fixture.dataset);
        const params = kilnParams(fixture);
        const before = tf.memory().numTensors;
        const r = await spectralWithMethod('tensor', data.points, data.n, data.d, params);
        expect(tf.memory().numTensors).to.equal(before);
        expect(adjustedRandIndex(r.labels, fixture.labels), 'ARI against scikit-learn labels').to.be.at.least(0.99);
        expect(r.converged).to.equal(true);
        expect(r.method).to.match(/sparse float32 products on \S+ \((gather \+ unsortedSegmentSum|sparseSegmentSum)\)/);
        for (const res of r.residuals) expect(res).to.be.at.most(SPECTRAL_TENSOR_GRAPH_TOLERANCE);
        const reference = symmetricEigen(denseNormalizedAffinity(data, params), data.n).values;
        r.eigenvalues.forEach((value, j) => expect(value, `eigenvalue ${j}`).to.be.closeTo(reference[j], 1e-5));
      });
    }

    it('the iterative eigensolver path (k above the number of components) agrees with the host path', async () => {
      for (const [name, k] of [
        ['moons', 3],
        ['aniso', 3],
      ] as const) {
        const data = loadDataset(name);
        const params: SpectralParams = { k, affinity: 'nearest-neighbors' };
        const host = await spectralWithMethod('host', data.points, data.n, data.d, params);
        const tensor = await spectralWithMethod('tensor', data.points, data.n, data.d, params);
        expect(tensor.iterations, name).to.be.above(0);
        expect(tensor.method).to.match(/sparse float32 products on .*Chebyshev-filtered subspace iteration$/);
        expect(tensor.converged, name).to.equal(true);
        expect(adjustedRandIndex(tensor.labels, host.labels), name).to.be.at.least(0.99);
        tensor.eigenvalues.forEach((value, j) =>
          expect(value, `${name} eigenvalue ${j}`).to.be.closeTo(host.eigenvalues[j], 1e-5),
        );
      }
    });

    it('throws AbortError when aborted during the eigensolver, and frees its tensors', async () => {
      const data = loadDataset('aniso');
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const seen: number[] = [];
      await expectRejects(
        spectralWithMethod(
          'tensor',
          data.points,
          data.n,
          data.d,
          { k: 3, affinity: 'nearest-neighbors', eigenTolerance: 1e-12 },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.stage !== 'eigensolver') return;
              seen.push(p.iteration as number);
              if (p.iteration === 1) controller.abort();
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(seen).to.deep.equal([0, 1]);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });

  describe('limits', () => {
    it('documents a limit per affinity, with the reason and the scalable alternative', () => {
      for (const affinity of ['rbf', 'nearest-neighbors'] as const) {
        const limit = SPECTRAL_LIMITS[affinity];
        expect(limit.maxPoints).to.be.a('number').and.above(20_000);
        expect(limit.why).to.be.a('string').and.not.equal('');
        expect(limit.alternative).to.be.a('string').and.not.equal('');
      }
      expect(SPECTRAL_LIMITS.rbf.why).to.match(/n×n/);
    });

    it('rejects n above the limit with a RangeError naming the limit and the alternative', async () => {
      const n = SPECTRAL_LIMITS.rbf.maxPoints + 1;
      await expectRejects(spectral(new Float32Array(n), n, 1, { k: 2 }), (err) => {
        expect(err).to.be.instanceOf(RangeError);
        expect(err.message).to.include(String(SPECTRAL_LIMITS.rbf.maxPoints));
        expect(err.message).to.include('nearest-neighbors');
      });
    });
  });

  describe('argument validation', () => {
    const data = uniform(10, 2, 1);
    const p = data.points;
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['k = 0', () => spectral(p, 10, 2, { k: 0 }), /\bk\b/],
      ['k not an integer', () => spectral(p, 10, 2, { k: 1.5 }), /\bk\b/],
      ['k > n', () => spectral(p, 10, 2, { k: 11 }), /\bk\b.*\bn\b/],
      ['k above SPECTRAL_MAX_K', () => spectral(new Float32Array(200), 100, 2, { k: SPECTRAL_MAX_K + 1 }), /\bk\b.*64/],
      ['n = 1', () => spectral(Float32Array.from([1, 2]), 1, 2, { k: 1 }), /\bn\b/],
      ['d = 0', () => spectral(p, 10, 0, { k: 1 }), /\bd\b/],
      ['n*d != points.length', () => spectral(p, 10, 3, { k: 2 }), /points\.length/],
      ['points not Float32Array', () => spectral([1, 2, 3, 4] as unknown as Float32Array, 2, 2, { k: 1 }), /points/],
      ['NaN in points', () => spectral(Float32Array.from([1, 2, NaN, 4]), 2, 2, { k: 1 }), /points.*row 1, column 0/],
      ['unknown affinity', () => spectral(p, 10, 2, { k: 2, affinity: 'nearest_neighbors' as 'rbf' }), /affinity/],
      ['negative gamma', () => spectral(p, 10, 2, { k: 2, gamma: -1 }), /gamma/],
      ['NaN gamma', () => spectral(p, 10, 2, { k: 2, gamma: NaN }), /gamma/],
      [
        'nNeighbors = 0',
        () => spectral(p, 10, 2, { k: 2, affinity: 'nearest-neighbors', nNeighbors: 0 }),
        /nNeighbors/,
      ],
      [
        'nNeighbors > n',
        () => spectral(p, 10, 2, { k: 2, affinity: 'nearest-neighbors', nNeighbors: 11 }),
        /nNeighbors.*\bn\b/,
      ],
      [
        'assignLabels discretize',
        () => spectral(p, 10, 2, { k: 2, assignLabels: 'discretize' as 'kmeans' }),
        /assignLabels/,
      ],
      ['nInit = 0', () => spectral(p, 10, 2, { k: 2, nInit: 0 }), /nInit/],
      ['non-integer seed', () => spectral(p, 10, 2, { k: 2, seed: 0.5 }), /seed/],
      ['eigenTolerance = 0', () => spectral(p, 10, 2, { k: 2, eigenTolerance: 0 }), /eigenTolerance/],
      ['params not an object', () => spectral(p, 10, 2, null as unknown as SpectralParams), /params/],
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
