import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { ClusteringAlgorithm } from '../../common/jobs';
import { initComputeBackend } from '../../ml/backend';
import { adjustedRandIndex } from '../../ml/clustering/agreement';
import { clusteringQuality } from '../../ml/clustering/quality';
import { CLUSTERING_RUNNERS } from '../../ml/clustering/runners';
import { ClusteringOutput } from '../../ml/clustering/types';
import { loadPredictor } from '../../ml/serving/predictor';
import { expectRejects } from '../support/expect-rejects';

/**
 * Fault class: magnitudes whose squares leave float32's range. [[1e20], [1.1e20], [5e20], [5.1e20]], k = 2: k-means
 * and mini-batch returned one cluster with `inertia: null`, spectral `eigenvalues: [null, null]`, and at 1e-25
 * everything collapsed into one cluster. Every algorithm must now give the right answer, or refuse with a RangeError
 * (the job's InvalidJobInput, a 4xx at the API) that says why; no result or quality object may hold NaN/Infinity
 * (JSON would write null).
 */
const SCALES = [1e20, 1e-25, 1e35, 1e-35];
const TRUTH = [0, 0, 1, 1];

function column(scale: number): Float32Array {
  return Float32Array.from([1, 1.1, 5, 5.1].map((v) => v * scale));
}

/** Params in the data's own units, so that each run has one right answer: {0, 1} and {2, 3}. */
function paramsFor(algorithm: ClusteringAlgorithm, scale: number): Record<string, unknown> {
  switch (algorithm) {
    case 'dbscan':
      return { eps: scale, minPoints: 1 };
    case 'som':
      return { rows: 1, cols: 2, seed: 0 };
    case 'spectral':
      return { k: 2, gamma: 1 / (scale * scale) };
    case 'gmm':
      return { k: 2, regCovar: 1e-6 * scale * scale };
    default:
      return { k: 2, seed: 0 };
  }
}

/** The output as the API would store it: no `null` may appear, and every number (typed arrays too) is finite. */
function expectFiniteJson(value: unknown): void {
  expect(JSON.stringify(value)).to.not.match(/null/);
  const numbers: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') numbers.push(v);
    else if (ArrayBuffer.isView(v)) numbers.push(...Array.from(v as unknown as ArrayLike<number>));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  expect(numbers.every(Number.isFinite)).to.equal(true);
}

const ALGORITHMS = Object.keys(CLUSTERING_RUNNERS) as ClusteringAlgorithm[];

describe('fault: magnitudes whose squares leave float32 range', function () {
  this.timeout(120_000);
  before(async () => {
    await initComputeBackend();
  });

  for (const scale of SCALES) {
    describe(`points near ${scale}`, () => {
      const points = column(scale);
      for (const algorithm of ALGORITHMS) {
        it(`${algorithm}: the two clusters, finite numbers, and a finite quality object`, async () => {
          const out = await CLUSTERING_RUNNERS[algorithm](points, 4, 1, paramsFor(algorithm, scale) as never);
          expect(adjustedRandIndex(out.labels, TRUTH), Array.from(out.labels).join()).to.equal(1);
          expect(out.clusters).to.equal(2);
          expectFiniteJson(out);
          const q = await clusteringQuality(points, 4, 1, out.labels, out.centres ? { centres: out.centres } : {});
          expectFiniteJson(q);
          // scikit-learn on [[1e20], [1.1e20], [5e20], [5.1e20]] with these labels (quality__magnitude-1e20.json).
          expect(q.silhouette).to.be.closeTo(0.974996, 1e-6);
          expect(q.daviesBouldin).to.be.closeTo(0.025, 1e-6);
          if (out.inertia !== undefined) expect(q.inertia).to.equal(out.inertia);
        });
      }

      it('k-means reports the true centroids and inertia, in the data units', async () => {
        const out = await CLUSTERING_RUNNERS.kmeans(points, 4, 1, { k: 2, seed: 0 } as never);
        const centroids = (out.extras.centroids as number[][]).map((c) => c[0] / scale).sort((a, b) => a - b);
        expect(centroids[0]).to.be.closeTo(1.05, 1e-6);
        expect(centroids[1]).to.be.closeTo(5.05, 1e-6);
        expect(out.inertia! / (scale * scale)).to.be.closeTo(0.01, 1e-6);
      });

      it('models fitted there predict their own labels (k-means, mini-batch, SOM, GMM)', async () => {
        for (const algorithm of ['kmeans', 'minibatch-kmeans', 'som', 'gmm'] as const) {
          const out: ClusteringOutput = await CLUSTERING_RUNNERS[algorithm](
            points,
            4,
            1,
            paramsFor(algorithm, scale) as never,
          );
          const predictor = await loadPredictor(
            algorithm,
            Buffer.from(JSON.stringify({ ...out.model, columns: ['x'] })),
          );
          const predicted = await predictor.predict(points, 4);
          expect(predicted.labels, algorithm).to.deep.equal(Array.from(out.labels));
          expectFiniteJson(predicted);
        }
      });
    });
  }

  describe('parameters that make the answer meaningless at the data scale are refused, saying why', () => {
    it('spectral rbf with the default gamma = 1 at 1e20 (every affinity 0) and 1e-25 (every affinity 1)', async () => {
      for (const scale of [1e20, 1e-25]) {
        await expectRejects(CLUSTERING_RUNNERS.spectral(column(scale), 4, 1, { k: 2 } as never), (err) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(/gamma = 1 /);
          expect(err.message).to.match(/Use a (smaller|larger) gamma, about/);
        });
      }
    });

    it('spectral rbf whose kernel underflows to 0 for every pair (no edges) at ordinary magnitudes', async () => {
      await expectRejects(
        CLUSTERING_RUNNERS.spectral(Float32Array.of(0, 10, 20, 30), 4, 1, { k: 2, gamma: 10 } as never),
        (err) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(/no edges/);
        },
      );
    });

    it("GMM's absolute regCovar (default 1e-6) at 1e-25, where it swamps the data's variance", async () => {
      await expectRejects(CLUSTERING_RUNNERS.gmm(column(1e-25), 4, 1, { k: 2 } as never), (err) => {
        expect(err).to.be.instanceOf(RangeError);
        expect(err.message).to.match(/regCovar = 0\.000001 .*variance/);
      });
    });

    it('spectral nearest-neighbors needs no gamma and works at any magnitude', async () => {
      for (const scale of SCALES) {
        const out = await CLUSTERING_RUNNERS.spectral(column(scale), 4, 1, {
          k: 2,
          affinity: 'nearest-neighbors',
          nNeighbors: 2,
        } as never);
        expect(adjustedRandIndex(out.labels, TRUTH)).to.equal(1);
        expectFiniteJson(out);
      }
    });
  });

  describe('2-d, three clusters near 1e19, two of them 2e17 apart (quality__magnitude-1e19-2d.json)', () => {
    const fixture = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'sklearn', 'quality__magnitude-1e19-2d.json'), 'utf8'),
    ) as { points: number[][]; labels: number[]; silhouette: number };
    const points = Float32Array.from(fixture.points.flat());
    const n = fixture.points.length;
    const cases: [ClusteringAlgorithm, Record<string, unknown>][] = [
      ['kmeans', { k: 3, nInit: 3, seed: 0 }],
      ['minibatch-kmeans', { k: 3, nInit: 3, seed: 0, batchSize: 16 }],
      ['dbscan', { eps: 6e16, minPoints: 3 }],
      ['hierarchical', { k: 3, linkage: 'ward' }],
      ['spectral', { k: 3, affinity: 'nearest-neighbors', nNeighbors: 5 }],
      ['gmm', { k: 3, covarianceType: 'diag', seed: 0 }],
    ];
    for (const [algorithm, params] of cases) {
      it(`${algorithm} finds them`, async () => {
        const out = await CLUSTERING_RUNNERS[algorithm](points, n, 2, params as never);
        expect(adjustedRandIndex(out.labels, fixture.labels)).to.equal(1);
        expectFiniteJson(out);
        const q = await clusteringQuality(points, n, 2, out.labels);
        expect(q.silhouette).to.be.closeTo(fixture.silhouette, 1e-6);
      });
    }
  });
});
