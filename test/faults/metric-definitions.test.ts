import { expect } from 'chai';
import { initComputeBackend } from '../../ml/backend';
import { clusteringQuality } from '../../ml/clustering/quality';
import { CLUSTERING_RUNNERS } from '../../ml/clustering/runners';
import { Random } from '../../ml/random';
import { classificationMetrics, regressionMetrics } from '../../ml/training/train';

/**
 * Fault class (ml side): one number, two definitions, or a number where the metric is undefined.
 *  - mini-batch `inertia` and `quality.inertia` disagreed (centres vs cluster means). One definition now,
 *    scikit-learn's inertia_: Σ over ALL points of the squared distance to the closest centre on the final centres.
 *  - R² of a single sample was reported as 1; it is undefined (scikit-learn warns and returns nan), so it is absent;
 *    likewise R² of a constant target, and macro precision / recall / F1 when only one class is present.
 */

/** scikit-learn's inertia_, by definition: every point's squared distance to its closest centre, float64. */
function closestCentreInertia(points: Float32Array, n: number, d: number, centres: number[][]): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (const c of centres) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (points[i * d + j] - c[j]) ** 2;
      best = Math.min(best, s);
    }
    total += best;
  }
  return total;
}

function blobs(seed: number, n: number, d: number, k: number): Float32Array {
  const rng = new Random(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.nextFloat() * 20));
  return Float32Array.from({ length: n * d }, (_, t) => centres[Math.floor(t / d) % k][t % d] + rng.nextGaussian());
}

describe('fault: one inertia definition, and undefined metrics absent', function () {
  this.timeout(120_000);
  before(async () => {
    await initComputeBackend();
  });

  for (const algorithm of ['minibatch-kmeans', 'kmeans', 'som'] as const) {
    for (const seed of [1, 2, 3]) {
      it(`${algorithm} (seed ${seed}): inertia = quality.inertia = Σ squared distance to the closest final centre`, async () => {
        const n = 600;
        const d = 3;
        const points = blobs(seed, n, d, 4);
        const params =
          algorithm === 'som'
            ? { rows: 2, cols: 2, seed, iterations: 3 }
            : { k: 4, seed, ...(algorithm === 'minibatch-kmeans' ? { batchSize: 32, maxIterations: 3 } : {}) };
        const out = await CLUSTERING_RUNNERS[algorithm](points, n, d, params as never);
        expect(out.centres, 'the output carries its centres').to.be.an('array');
        const reference = closestCentreInertia(points, n, d, out.centres!);
        const q = await clusteringQuality(points, n, d, out.labels, { centres: out.centres });
        expect(q.inertia).to.be.closeTo(reference, 1e-9 * reference);
        if (algorithm !== 'som') expect(out.inertia).to.equal(q.inertia);
      });
    }
  }

  describe('regression metrics', () => {
    it('R² of a single sample is absent (was 1)', () => {
      const m = regressionMetrics([5], [5], 'validation');
      expect(m).to.not.have.property('r2');
      expect(m.mse).to.equal(0);
      expect(regressionMetrics([5], [7], 'validation')).to.not.have.property('r2');
    });

    it('R² of a constant target is absent (was 1 or 0)', () => {
      expect(regressionMetrics([0.1, 0.1, 0.1], [0.1, 0.1, 0.1], 'validation')).to.not.have.property('r2');
      expect(regressionMetrics([0.1, 0.1, 0.1], [0.2, 0.1, 0], 'validation')).to.not.have.property('r2');
    });

    it('R² is there wherever it is defined', () => {
      const m = regressionMetrics([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.8], 'validation');
      expect(m.r2).to.be.closeTo(1 - 0.1 / 5, 1e-12);
    });
  });

  describe('classification metrics', () => {
    const oneHot = (labels: number[], k: number) =>
      labels.flatMap((l) => Array.from({ length: k }, (_, j) => (j === l ? 1 : 0)));

    it('one class present: precision, recall and F1 are absent; accuracy and the confusion matrix are there', () => {
      const m = classificationMetrics([1, 1, 1], oneHot([1, 1, 1], 3), 3, ['a', 'b', 'c'], 'validation');
      expect(m).to.not.have.any.keys('precision', 'recall', 'f1');
      expect(m.accuracy).to.equal(1);
      expect(m.confusionMatrix[1][1]).to.equal(3);
    });

    it('two classes present: macro precision / recall / F1 as scikit-learn (zero_division=0)', () => {
      // sklearn: precision_score([0,0,1,1],[0,1,1,1],average='macro') = 0.8333..., recall 0.75, f1 0.7333...
      const m = classificationMetrics([0, 0, 1, 1], oneHot([0, 1, 1, 1], 2), 2, ['a', 'b'], 'validation');
      expect(m.precision).to.be.closeTo(0.8333333333333333, 1e-12);
      expect(m.recall).to.be.closeTo(0.75, 1e-12);
      expect(m.f1).to.be.closeTo(0.7333333333333334, 1e-12);
    });
  });
});
