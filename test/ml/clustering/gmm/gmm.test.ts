import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../../../ml/backend';
import {
  GMM_DEFAULTS,
  GMM_MAX_INLINE_PROBABILITIES,
  GmmModel,
  GmmParams,
  GmmProgress,
  GmmResult,
  gmm,
  predictGmm,
  runGmm,
} from '../../../../ml/clustering/gmm/gmm';
import { adjustedRandIndex, samePartition } from '../../../../ml/clustering/agreement';
import { Random } from '../../../../ml/random';
import { expectRejects } from '../../../support/expect-rejects';

interface Data {
  points: Float32Array;
  n: number;
  d: number;
  truth: number[];
}

function sklearnDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return path.join(dir, 'test', 'fixtures', 'sklearn');
}

function loadDataset(name: string): Data {
  const raw = JSON.parse(fs.readFileSync(path.join(sklearnDir(), `${name}.json`), 'utf8')) as {
    points: number[][];
    truth: number[];
  };
  return {
    truth: raw.truth,
    points: Float32Array.from(raw.points.flat()),
    n: raw.points.length,
    d: raw.points[0].length,
  };
}

/** A scikit-learn GaussianMixture fixture (gmm__* full, gmm-diag__* diag). */
interface GmmFixture {
  algorithm: string;
  dataset: string;
  params: {
    k: number;
    covarianceType: 'full' | 'diag';
    maxIterations: number;
    tolerance: number;
    regularization: number;
    seed: number;
  };
  labels: number[];
  ariVsTruth: number;
  converged: boolean;
  iterations: number;
  lowerBound: number;
  meanLogLikelihood: number;
  weights: number[];
  means: number[][];
  covariances: number[][][] | number[][];
  predictProba: { rows: number[]; proba: number[][] };
}

function fixtures(): GmmFixture[] {
  return fs
    .readdirSync(sklearnDir())
    .filter((f) => /^gmm(-diag)?__.*\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(sklearnDir(), f), 'utf8')) as GmmFixture);
}

function gaussian(rng: Random): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/** Correlated Gaussian blobs: x = centre + scale · (z_j + 0.6 z_{j−1}). */
function blobs(n: number, d: number, k: number, seed: number, span = 16): Data {
  const rng = new Random(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.nextFloat() * span - span / 2));
  const scales = Array.from({ length: k }, () => 0.5 + rng.nextFloat());
  const points = new Float32Array(n * d);
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % k;
    truth.push(c);
    let prev = 0;
    for (let j = 0; j < d; j++) {
      const z = gaussian(rng);
      points[i * d + j] = centres[c][j] + scales[c] * (z + 0.6 * prev);
      prev = z;
    }
  }
  return { points, n, d, truth };
}

function run(data: Data, params: GmmParams, progress?: GmmProgress[]): Promise<GmmResult> {
  return gmm(data.points, data.n, data.d, params, progress ? { onProgress: (p) => void progress.push(p) } : {});
}

/** For each of our components, the scikit-learn component with the nearest mean (a permutation when they agree). */
function matchComponents(ours: number[][], theirs: number[][]): number[] {
  return ours.map((m) => {
    let best = 0;
    let bestDist = Infinity;
    theirs.forEach((t, c) => {
      const dist = m.reduce((s, v, j) => s + (v - t[j]) ** 2, 0);
      if (dist < bestDist) [best, bestDist] = [c, dist];
    });
    return best;
  });
}

describe('ml/clustering/gmm', () => {
  before(async () => {
    await initComputeBackend();
  });

  describe('against scikit-learn GaussianMixture fixtures', () => {
    for (const f of fixtures()) {
      // Two concentric circles have no preferred 2-component Gaussian fit: the optimum found depends on the k-means
      // init, so only the likelihood is compared there.
      const symmetric = f.dataset === 'circles';
      it(`${f.algorithm} on ${f.dataset} (k = ${f.params.k}; sklearn ARI ${f.ariVsTruth})`, async () => {
        const data = loadDataset(f.dataset);
        const r = await run(data, {
          k: f.params.k,
          covarianceType: f.params.covarianceType,
          maxIterations: f.params.maxIterations,
          tolerance: f.params.tolerance,
          regCovar: f.params.regularization,
          seed: f.params.seed,
        });
        expect(r.converged).to.equal(true);
        if (f.ariVsTruth >= 0.95)
          expect(adjustedRandIndex(r.labels, data.truth), 'ARI vs ground truth').to.be.at.least(0.95);
        expect(r.logLikelihood, 'mean log-likelihood').to.be.closeTo(f.meanLogLikelihood, symmetric ? 0.02 : 1e-3);
        if (symmetric) return;
        const agreement = adjustedRandIndex(r.labels, f.labels);
        expect(agreement, 'ARI vs scikit-learn labels').to.be.at.least(0.95);
        expect(r.lowerBound).to.be.closeTo(f.lowerBound, 1e-3);
        expect(Math.abs(r.iterations - f.iterations)).to.be.at.most(2);
        // Where the k-means inits led to a slightly different partition (diag on iris-like: ARI 0.98 vs scikit-learn),
        // the parameters differ by more than round-off; elsewhere they must agree.
        if (agreement < 1) return;
        // Same parameters, once components are matched.
        const match = matchComponents(r.means, f.means);
        expect(new Set(match).size, 'components match one to one').to.equal(f.params.k);
        match.forEach((c, ours) => {
          expect(r.weights[ours]).to.be.closeTo(f.weights[c], 2e-3);
          r.means[ours].forEach((v, j) => expect(v).to.be.closeTo(f.means[c][j], 5e-3));
          const cov = JSON.stringify(r.covariances[ours]);
          const ref = (f.covariances[c] as (number | number[])[]).flat();
          (r.covariances[ours] as (number | number[])[])
            .flat()
            .forEach((v, j) => expect(v, cov).to.be.closeTo(ref[j], 5e-3 * (1 + Math.abs(ref[j]))));
        });
        // predict_proba on the fixture's rows, columns permuted to ours.
        const { probabilities } = predictGmm(r.model, data.points, data.n, data.d);
        f.predictProba.rows.forEach((rowIndex, i) => {
          match.forEach((c, ours) =>
            expect(probabilities[rowIndex][ours]).to.be.closeTo(f.predictProba.proba[i][c], 2e-3),
          );
        });
      });
    }
  });

  describe('algorithm', () => {
    it('recovers correlated blobs (full), with inline probabilities that predictGmm reproduces', async () => {
      const data = blobs(3000, 4, 4, 1);
      const progress: GmmProgress[] = [];
      const r = await run(data, { k: 4, seed: 0 }, progress);
      expect(adjustedRandIndex(r.labels, data.truth)).to.be.at.least(0.99);
      expect(r.converged).to.equal(true);
      expect(progress).to.have.length(r.iterations);
      expect(Math.abs(progress[progress.length - 1].change)).to.be.below(GMM_DEFAULTS.tolerance);
      // EM never decreases the likelihood.
      for (let i = 1; i < progress.length; i++)
        expect(progress[i].lowerBound).to.be.at.least(progress[i - 1].lowerBound - 1e-6);
      expect(r.weights.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-9);
      expect(r.probabilities).to.have.length(data.n);
      const predicted = predictGmm(r.model, data.points, data.n, data.d);
      expect(Array.from(predicted.labels)).to.deep.equal(Array.from(r.labels));
      for (let i = 0; i < data.n; i += 17) {
        expect(r.probabilities![i].reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5);
        r.probabilities![i].forEach((p, c) => expect(p).to.be.closeTo(predicted.probabilities[i][c], 1e-5));
        expect(r.probabilities![i].indexOf(Math.max(...r.probabilities![i]))).to.equal(r.labels[i]);
      }
    });

    it('full beats diag in likelihood on correlated data', async () => {
      const data = blobs(2000, 3, 3, 2);
      const full = await run(data, { k: 3, covarianceType: 'full' });
      const diag = await run(data, { k: 3, covarianceType: 'diag' });
      expect(full.logLikelihood).to.be.greaterThan(diag.logLikelihood);
      expect(diag.covariances[0]).to.have.length(3);
      expect((diag.covariances[0] as number[])[0]).to.be.a('number');
      expect((full.covariances[0] as number[][])[0]).to.have.length(3);
    });

    it('k = 1 gives the data mean and population covariance + regCovar', async () => {
      const data = blobs(500, 3, 2, 3);
      const r = await run(data, { k: 1, regCovar: 1e-3 });
      const { n, d, points } = data;
      const mean = Array.from({ length: d }, (_, j) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += points[i * d + j];
        return s / n;
      });
      mean.forEach((m, j) => expect(r.means[0][j]).to.be.closeTo(m, 1e-4));
      const cov = r.covariances[0] as number[][];
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += (points[i * d + a] - mean[a]) * (points[i * d + b] - mean[b]);
          expect(cov[a][b]).to.be.closeTo(s / n + (a === b ? 1e-3 : 0), 1e-4 * (1 + Math.abs(s / n)));
        }
      }
      expect(r.weights).to.deep.equal([1]);
      expect(new Set(r.labels)).to.deep.equal(new Set([0]));
    });

    it('is deterministic for a seed; nInit keeps the best lower bound', async () => {
      const data = blobs(1500, 2, 5, 4, 6);
      const a = await run(data, { k: 5, seed: 3 });
      const b = await run(data, { k: 5, seed: 3 });
      expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
      expect(a.means).to.deep.equal(b.means);
      expect(a.lowerBound).to.equal(b.lowerBound);
      const runs = await Promise.all([3, 4, 5].map((seed) => run(data, { k: 5, seed })));
      const best = await run(data, { k: 5, seed: 3, nInit: 3 });
      expect(best.lowerBound).to.equal(Math.max(...runs.map((r) => r.lowerBound)));
    });

    it(`omits inline probabilities above ${GMM_MAX_INLINE_PROBABILITIES} cells`, async () => {
      const data = blobs(Math.floor(GMM_MAX_INLINE_PROBABILITIES / 2) + 1, 2, 2, 5);
      const r = await run(data, { k: 2, covarianceType: 'diag', maxIterations: 3 });
      expect(r.probabilities).to.equal(undefined);
      const small = await run(blobs(1000, 2, 2, 5), { k: 2, maxIterations: 3 });
      expect(small.probabilities).to.have.length(1000);
    });

    it('runGmm returns a ClusteringOutput whose model predicts the labels', async () => {
      const data = blobs(800, 3, 3, 6);
      const out = await runGmm(data.points, data.n, data.d, { k: 3, covarianceType: 'diag' });
      expect(out.model?.flavor).to.equal('gmm');
      expect(out.model?.covarianceType).to.equal('diag');
      expect(out.clusters).to.equal(3);
      for (const key of ['weights', 'means', 'covariances', 'probabilities', 'logLikelihood'])
        expect(out.extras, key).to.have.property(key);
      const predicted = predictGmm(out.model as unknown as GmmModel, data.points, data.n, data.d);
      expect(samePartition(predicted.labels, out.labels)).to.equal(true);
    });
  });

  describe('edge cases', () => {
    it('duplicate points: collapsed components get regCovar covariances, no error', async () => {
      const values = [
        [1, 1],
        [1, 5],
        [6, 3],
      ];
      const labels = Array.from({ length: 90 }, (_, i) => i % 3);
      const data: Data = { points: Float32Array.from(labels.flatMap((l) => values[l])), n: 90, d: 2, truth: labels };
      for (const covarianceType of ['full', 'diag'] as const) {
        const r = await run(data, { k: 3, covarianceType });
        expect(samePartition(r.labels, labels)).to.equal(true);
        const diagonals = r.covariances.map((c) =>
          covarianceType === 'full' ? (c as number[][]).map((row, i) => row[i]) : (c as number[]),
        );
        for (const diag of diagonals) for (const v of diag) expect(v).to.be.closeTo(GMM_DEFAULTS.regCovar, 1e-9);
        expect(Number.isFinite(r.logLikelihood)).to.equal(true);
      }
    });

    it('regCovar 0 on collapsed points rejects with a RangeError naming regCovar', async () => {
      const data: Data = {
        points: Float32Array.from([1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5]),
        n: 6,
        d: 2,
        truth: [0, 0, 0, 1, 1, 1],
      };
      await expectRejects(run(data, { k: 2, regCovar: 0 }), (err) => {
        expect(err).to.be.instanceOf(RangeError);
        expect(err.message).to.match(/ill-defined empirical covariance.*regCovar/);
      });
    });

    it('d = 512 with small n: diag fits; full needs a regCovar above float32 round-off, as scikit-learn on float32 input', async () => {
      const data = loadDataset('highdim');
      const diag = await run(data, { k: 4, covarianceType: 'diag' });
      expect(adjustedRandIndex(diag.labels, data.truth)).to.be.at.least(0.95);
      expect(Number.isFinite(diag.logLikelihood)).to.equal(true);
      // 60 points in 512 dimensions: the empirical covariance has rank 59, so regCovar alone keeps it positive definite.
      // scikit-learn 1.9.1 on the same float32 rows also fails with the default reg_covar=1e-6 (and fits in float64).
      const few = { ...data, n: 60, points: data.points.subarray(0, 60 * 512), truth: data.truth.slice(0, 60) };
      await expectRejects(run(few, { k: 1, covarianceType: 'full', maxIterations: 2 }), (err) =>
        expect(err.message).to.match(/regCovar/),
      );
      const full = await run(few, { k: 1, covarianceType: 'full', maxIterations: 2, regCovar: 1e-3 });
      expect(Number.isFinite(full.logLikelihood)).to.equal(true);
      expect((full.covariances[0] as number[][]).length).to.equal(512);
    });
  });

  describe('predictGmm', () => {
    it('rejects malformed models', () => {
      const points = Float32Array.of(0, 0);
      const good: GmmModel = {
        flavor: 'gmm',
        covarianceType: 'diag',
        weights: [1],
        means: [[0, 0]],
        covariances: [[1, 1]],
      };
      expect(predictGmm(good, points, 1, 2).labels[0]).to.equal(0);
      expect(() => predictGmm({ ...good, covarianceType: 'tied' as never }, points, 1, 2)).to.throw(
        RangeError,
        /covarianceType/,
      );
      expect(() => predictGmm({ ...good, means: [[0, 0, 0]] }, points, 1, 2)).to.throw(RangeError, /means/);
      expect(() => predictGmm({ ...good, covariances: [[1, -1]] }, points, 1, 2)).to.throw(RangeError, /ill-defined/);
      expect(() => predictGmm({ ...good, weights: [0] }, points, 1, 2)).to.throw(RangeError, /weights/);
      expect(() => predictGmm({ ...good, covarianceType: 'full', covariances: [[1, 1]] }, points, 1, 2)).to.throw(
        RangeError,
        /2×2/,
      );
    });

    it('gives exact posteriors for a known two-component model', () => {
      // Two unit Gaussians at ±1 with equal weights: p(first | x) = 1 / (1 + exp(2x)) along the first axis.
      const model: GmmModel = {
        flavor: 'gmm',
        covarianceType: 'full',
        weights: [0.5, 0.5],
        means: [
          [-1, 0],
          [1, 0],
        ],
        covariances: [
          [
            [1, 0],
            [0, 1],
          ],
          [
            [1, 0],
            [0, 1],
          ],
        ],
      };
      const xs = [-2, -0.5, 0.25, 3];
      const { labels, probabilities } = predictGmm(model, Float32Array.from(xs.flatMap((x) => [x, 0.3])), xs.length, 2);
      xs.forEach((x, i) => {
        expect(probabilities[i][0]).to.be.closeTo(1 / (1 + Math.exp(2 * x)), 1e-6);
        expect(labels[i]).to.equal(x < 0 ? 0 : 1);
      });
    });
  });

  describe('arguments', () => {
    const data = blobs(50, 2, 2, 1);
    const bad: [string, GmmParams, RegExp][] = [
      ['k = 0', { k: 0 }, /^k must/],
      ['k > n', { k: 51 }, /^k must/],
      ['an unknown covarianceType', { k: 2, covarianceType: 'spherical' as never }, /covarianceType/],
      ['maxIterations 0', { k: 2, maxIterations: 0 }, /maxIterations/],
      ['negative tolerance', { k: 2, tolerance: -1 }, /tolerance/],
      ['negative regCovar', { k: 2, regCovar: -1e-6 }, /regCovar/],
      ['nInit 0', { k: 2, nInit: 0 }, /nInit/],
      ['a fractional seed', { k: 2, seed: 0.5 }, /seed/],
    ];
    for (const [what, params, message] of bad) {
      it(`rejects ${what} with a RangeError`, async () => {
        await expectRejects(run(data, params), (err) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(message);
        });
      });
    }

    it('rejects malformed points with a RangeError', async () => {
      await expectRejects(gmm(Float32Array.of(1, 2, 3), 2, 2, { k: 1 }), (err) =>
        expect(err.message).to.match(/points.length/),
      );
      await expectRejects(gmm(Float32Array.of(1, NaN), 1, 2, { k: 1 }), (err) =>
        expect(err.message).to.match(/finite/),
      );
    });
  });

  describe('abort and memory', () => {
    it('rejects with AbortError when aborted between iterations, and frees its tensors', async () => {
      const data = blobs(2000, 3, 4, 9, 4);
      const controller = new AbortController();
      const before = tf.memory().numTensors;
      await expectRejects(
        gmm(
          data.points,
          data.n,
          data.d,
          { k: 4, tolerance: 0 },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.iteration === 2) controller.abort();
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('rejects with AbortError before any work when already aborted', async () => {
      const data = blobs(100, 2, 2, 1);
      const controller = new AbortController();
      controller.abort();
      await expectRejects(gmm(data.points, data.n, data.d, { k: 2 }, { signal: controller.signal }), (err) =>
        expect(err.name).to.equal('AbortError'),
      );
    });

    it('leaves tf.memory().numTensors unchanged (full, diag, predict)', async () => {
      const data = blobs(1200, 3, 3, 10);
      const before = tf.memory().numTensors;
      const full = await run(data, { k: 3 });
      await run(data, { k: 3, covarianceType: 'diag' });
      predictGmm(full.model, data.points, data.n, data.d);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
});
