import { expect } from 'chai';
import { guardPredictor, loadPredictor, NonFinitePredictionError, PartOutcome } from '../../../ml/serving/predictor';
import { predictionRows } from '../../../ml/serving/prediction-rows';
import { Random } from '../../../ml/random';
import { mlpArtifact, randomRows, servingModels } from '../../support/serving-models';

function predictionOf(outcome: PartOutcome): Record<string, unknown> {
  if (!outcome.ok) throw outcome.error;
  return outcome.prediction;
}

describe('ml/serving predictEach: several callers in one model call', () => {
  const D = 5;

  it('answers each part exactly as predicting it alone would, for every flavor', async () => {
    const rng = new Random(7);
    for (const model of await servingModels(D, 3)) {
      const predictor = await loadPredictor(model.flavor, model.content);
      try {
        const sizes = [1, 3, 1, 7, 2, 16];
        const parts = sizes.map((n) => ({ points: randomRows(rng, n, D), n }));
        const outcomes = await predictor.predictEach(parts);
        expect(outcomes, model.flavor).to.have.length(parts.length);
        for (const [i, part] of parts.entries()) {
          const alone = await predictor.predict(part.points, part.n);
          expect(predictionOf(outcomes[i]), `${model.flavor} part ${i}`).to.deep.equal(alone);
          for (const key of predictor.rowKeys) expect(alone[key], `${model.flavor}.${key}`).to.have.length(part.n);
        }
      } finally {
        predictor.dispose();
      }
    }
  });

  it('a part whose rows predict to a non-finite value fails alone; the others get their rows', async () => {
    // Weights × 1e10: rows of ordinary size stay finite, a row of 1e12 overflows float32.
    const predictor = await loadPredictor('mlp-regression', await mlpArtifact('regression', D, 5, 1e10));
    try {
      const rng = new Random(11);
      const huge = Float32Array.from({ length: 2 * D }, (_, i) => (i < D ? 1 : 1e12));
      const parts = [
        { points: randomRows(rng, 2, D), n: 2 },
        { points: huge, n: 2 },
        { points: randomRows(rng, 3, D), n: 3 },
      ];
      const outcomes = await predictor.predictEach(parts);
      expect(outcomes[1].ok).to.equal(false);
      const error = (outcomes[1] as { error: Error }).error;
      expect(error).to.be.instanceOf(NonFinitePredictionError);
      // The path names the row within its own request (its second row), not within the batch.
      expect(error.message).to.match(/values\[1\] is (NaN|-?Infinity)/);
      for (const i of [0, 2])
        expect(predictionOf(outcomes[i])).to.deep.equal(await predictor.predict(parts[i].points, parts[i].n));
    } finally {
      predictor.dispose();
    }
  });

  it('when the shared call throws, each part is predicted alone and only the culprit fails', async () => {
    const calls: number[] = [];
    const inner = await loadPredictor('kmeans', (await servingModels(D, 4))[2].content);
    // A model call that throws whenever its rows hold a 999: a stand-in for an input-dependent model failure.
    const { predictEach } = guardPredictor({
      ...inner,
      predict: async (points, n) => {
        calls.push(n);
        if (points.includes(999)) throw new RangeError('a row of 999');
        return inner.predict(points, n);
      },
    });
    const rng = new Random(2);
    const parts = [
      { points: randomRows(rng, 2, D), n: 2 },
      { points: new Float32Array(D).fill(999), n: 1 },
      { points: randomRows(rng, 1, D), n: 1 },
    ];
    const outcomes = await predictEach(parts);
    expect(calls).to.deep.equal([4, 2, 1, 1]);
    expect(outcomes.map((o) => o.ok)).to.deep.equal([true, false, true]);
    expect((outcomes[1] as { error: Error }).error.message).to.equal('a row of 999');
    expect(predictionOf(outcomes[0])).to.deep.equal(await inner.predict(parts[0].points, 2));
  });

  it('predictionRows slices the per-row keys and keeps the others and the key order', () => {
    const prediction = {
      task: 'classification',
      labels: ['a', 'b', 'c'],
      probabilities: [[1], [2], [3]],
      classes: ['a'],
    };
    const rows = predictionRows(prediction, ['labels', 'probabilities'], 1, 2);
    expect(rows).to.deep.equal({
      task: 'classification',
      labels: ['b', 'c'],
      probabilities: [[2], [3]],
      classes: ['a'],
    });
    expect(Object.keys(rows)).to.deep.equal(Object.keys(prediction));
    expect(() => predictionRows(prediction, ['labels'], 2, 2)).to.throw(RangeError, /labels/);
  });
});
