import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../../common/paths';
import { initComputeBackend } from '../../ml/backend';
import { adjustedRandIndex } from '../../ml/clustering/agreement';
import { clusteringQuality } from '../../ml/clustering/quality';
import { CLUSTERING_RUNNERS } from '../../ml/clustering/runners';
import { Random } from '../../ml/random';

/**
 * Fault class: quality metrics on clusters that are close together but far from the data mean (or the origin), and
 * on exact duplicates. float32 ‖x‖² + ‖y‖² − 2x·y about the data mean lost those distances entirely (they were zeroed
 * below a relative epsilon): k-means on the 9-point example found the right labels but reported silhouette 0.333,
 * where scikit-learn gives 0.975. References: test/fixtures/sklearn/quality__*.json (make_fixtures.py --only quality),
 * and an exact float64 silhouette computed here for random inputs of the same class.
 */
interface QualityFixture {
  case: string;
  points: number[][];
  labels: number[];
  silhouette: number;
  daviesBouldin: number;
  /** davies_bouldin_score's formula with exact distances (scikit-learn's expansion errs ~1e-16·‖x‖², see the .py). */
  daviesBouldinExact: number;
  calinskiHarabasz: number;
  withinClusterSumOfSquares: number;
  kmeans?: { k: number; labels: number[]; inertia: number; centres: number[][]; ariVsLabels: number };
}

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'sklearn');
const CASES = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.startsWith('quality__'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8')) as QualityFixture);

function flat(points: number[][]): { points: Float32Array; n: number; d: number } {
  return { points: Float32Array.from(points.flat()), n: points.length, d: points[0].length };
}

/** scikit-learn's silhouette_score by definition, every distance √Σ(x − y)² in float64 (the reference here). */
function exactSilhouette(points: Float32Array, n: number, d: number, labels: ArrayLike<number>): number {
  const K = Math.max(...Array.from(labels)) + 1;
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  let total = 0;
  const sums = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (points[i * d + t] - points[j * d + t]) ** 2;
      sums[labels[j]] += Math.sqrt(s);
    }
    const own = labels[i];
    if (counts[own] <= 1) continue;
    const a = sums[own] / (counts[own] - 1);
    let b = Infinity;
    for (let c = 0; c < K; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
    const m = Math.max(a, b);
    if (m > 0) total += (b - a) / m;
  }
  return total / n;
}

describe('fault: quality metrics of close clusters far from the data mean, and of duplicates', function () {
  this.timeout(120_000);
  before(async () => {
    await initComputeBackend();
  });

  it('has the scikit-learn quality fixtures (close, far, duplicates, k = distinct points, 1e19–1e20)', () => {
    expect(CASES.map((c) => c.case)).to.include.members([
      'close-example',
      'close-far',
      'duplicates-far',
      'k-distinct',
      'magnitude-1e20',
      'magnitude-1e19-2d',
    ]);
  });

  it('k-means, k = 3, on the 9-point example: the right labels and silhouette 0.975 (was 0.333)', async () => {
    const example = CASES.find((c) => c.case === 'close-example')!;
    const { points, n, d } = flat(example.points);
    const out = await CLUSTERING_RUNNERS.kmeans(points, n, d, { k: 3, seed: 0 } as never);
    expect(adjustedRandIndex(out.labels, example.labels)).to.equal(1);
    const q = await clusteringQuality(points, n, d, out.labels);
    expect(q.silhouette).to.be.closeTo(example.silhouette, 1e-6);
    expect(example.silhouette).to.be.closeTo(0.975, 5e-4);
  });

  for (const c of CASES) {
    it(`every metric matches scikit-learn: ${c.case}`, async () => {
      const { points, n, d } = flat(c.points);
      const before = tf.memory().numTensors;
      const q = await clusteringQuality(points, n, d, Int32Array.from(c.labels));
      expect(tf.memory().numTensors).to.equal(before);
      expect(q.silhouette, 'silhouette').to.be.closeTo(c.silhouette, 1e-6);
      // Exact to round-off against the exact formula; against scikit-learn's own expansion (off by up to 4e-5 here).
      expect(q.daviesBouldin, 'daviesBouldin').to.be.closeTo(c.daviesBouldinExact, 1e-12 + 1e-9 * c.daviesBouldinExact);
      expect(q.daviesBouldin, 'daviesBouldin vs sklearn').to.be.closeTo(c.daviesBouldin, 1e-4 * c.daviesBouldin);
      expect(q.calinskiHarabasz, 'calinskiHarabasz').to.be.closeTo(c.calinskiHarabasz, 1e-9 * c.calinskiHarabasz);
      // The within-cluster sum of squares, absolute tolerance relative to the data's spread.
      const total = totalSumOfSquares(points, n, d);
      expect(q.inertia, 'inertia').to.be.closeTo(c.withinClusterSumOfSquares, 1e-12 * total + 1e-9 * q.inertia!);
    });

    if (c.kmeans) {
      const km = c.kmeans;
      it(`k-means finds scikit-learn's partition and its inertia_, and quality.inertia is the same number: ${c.case}`, async () => {
        const { points, n, d } = flat(c.points);
        const out = await CLUSTERING_RUNNERS.kmeans(points, n, d, { k: km.k, nInit: 3, seed: 0 } as never);
        expect(adjustedRandIndex(out.labels, km.labels)).to.equal(1);
        const total = totalSumOfSquares(points, n, d);
        expect(out.inertia).to.be.closeTo(km.inertia, 1e-9 * total);
        const q = await clusteringQuality(points, n, d, out.labels, {
          centres: (out.extras as { centroids: number[][] }).centroids,
        });
        expect(q.inertia).to.equal(out.inertia);
      });
    }
  }

  describe('random inputs of the same class agree with an exact float64 silhouette', () => {
    // Tight clusters (σ) at random offsets of size R, some pairs of clusters only a few σ apart, shifted far from the
    // origin; a share of the points duplicated exactly. Ratios R/σ of 1e3 and 1e4, where the float32 expansion about
    // the data mean loses the within-cluster distances.
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      it(`seed ${seed}`, async () => {
        const rng = new Random(seed);
        const d = 1 + (seed % 4);
        const K = 2 + (seed % 5);
        const sigma = 10 ** -(2 + (seed % 2));
        const R = 10;
        const offset = Array.from({ length: d }, () => (rng.nextFloat() - 0.5) * 2e3);
        const centres: number[][] = [];
        for (let c = 0; c < K; c++) {
          // Every other cluster sits 5σ from the previous one: close pairs far from the mean.
          centres.push(
            c % 2 === 1
              ? centres[c - 1].map((v, j) => v + (j === 0 ? 5 * sigma : 0))
              : Array.from({ length: d }, () => (rng.nextFloat() - 0.5) * 2 * R),
          );
        }
        const n = 300;
        const rows: number[][] = [];
        const labels: number[] = [];
        for (let i = 0; i < n; i++) {
          if (i > 0 && rng.nextFloat() < 0.2) {
            const j = rng.nextInt(i); // an exact duplicate of an earlier point, same label
            rows.push(rows[j].slice());
            labels.push(labels[j]);
            continue;
          }
          const c = i % K;
          rows.push(centres[c].map((v, j) => offset[j] + v + sigma * rng.nextGaussian()));
          labels.push(c);
        }
        const { points } = flat(rows);
        const q = await clusteringQuality(points, n, d, Int32Array.from(labels));
        expect(q.silhouette).to.be.closeTo(exactSilhouette(points, n, d, labels), 1e-6);
      });
    }

    it('k = the number of distinct points: every cluster a set of duplicates scores silhouette 1, Davies–Bouldin 0', async () => {
      const distinct = [
        [1e4, 1e4],
        [1e4, 1e4 + 0.001],
        [1e4 + 0.002, 1e4],
      ];
      const rows: number[][] = [];
      const labels: number[] = [];
      for (let i = 0; i < 60; i++) (rows.push(distinct[i % 3]), labels.push(i % 3));
      const { points, n, d } = flat(rows);
      const q = await clusteringQuality(points, n, d, Int32Array.from(labels));
      expect(q.silhouette).to.equal(1);
      expect(q.daviesBouldin).to.equal(0);
      expect(q.calinskiHarabasz).to.equal(1);
      expect(q.inertia).to.equal(0);
    });
  });
});

function totalSumOfSquares(points: Float32Array, n: number, d: number): number {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j] / n;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) s += (points[i * d + j] - mean[j]) ** 2;
  return s;
}
