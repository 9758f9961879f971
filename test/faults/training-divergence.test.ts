import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Table } from '../../datasets/table';
import { initComputeBackend } from '../../ml/backend';
import { loadPredictor } from '../../ml/serving/predictor';
import { loadTrainedModel, saveTrainedModel } from '../../ml/training/predict';
import { train, TrainingResult } from '../../ml/training/train';
import { Random } from '../../ml/random';
import { expectRejects } from '../support/expect-rejects';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { DomainError } from '../../common/errors';

/**
 * Fault class: a diverged training run was served. A small regression with targets in the hundreds, trained with sgd
 * at learning rate 0.5, went NaN; the job completed, the version was READY and predict answered {"values":[null]}.
 * Policy (README, Training): a non-finite loss fails the run (TrainingDivergedError, naming the epoch; the activity
 * makes it a non-retryable ApplicationFailure) and no model is returned; predict never returns a non-finite value.
 */
function hundreds(n: number, seed: number): Table {
  const rng = new Random(seed);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.nextFloat() * 10;
    const b = rng.nextFloat() * 10;
    values.push(a, b, 30 * a + 20 * b + 100);
  }
  return {
    columns: ['a', 'b', 'y'].map((name) => ({ name, type: 'number' as const })),
    rows: n,
    values: Float64Array.from(values),
  };
}

const SPEC = { task: 'regression' as const, layers: [{ units: 8, activation: 'relu' as const }] };

describe('fault: a diverged training run must fail, and predict must never return NaN', function () {
  this.timeout(120_000);
  before(async () => {
    await initComputeBackend();
  });

  for (const standardizeTarget of [false, true]) {
    it(`sgd at learning rate 0.5 on targets in the hundreds fails, naming the epoch (standardizeTarget ${standardizeTarget})`, async () => {
      const epochs: number[] = [];
      const checkpoints: number[] = [];
      const before = tf.memory().numTensors;
      let result: TrainingResult | undefined;
      await expectRejects(
        train(
          {
            table: hundreds(40, 1),
            target: 'y',
            spec: SPEC,
            options: {
              epochs: 20,
              batchSize: 8,
              learningRate: 0.5,
              optimizer: 'sgd',
              standardizeTarget,
              checkpointEvery: 1,
            },
          },
          { onEpoch: (e) => void epochs.push(e.epoch), onCheckpoint: (e) => void checkpoints.push(e) },
        ).then((r) => (result = r)),
        (err) => {
          expect(err.name).to.equal('TrainingDivergedError');
          expect(err.message).to.match(/training diverged: the loss became (NaN|-?Infinity) in epoch (\d+)/);
          const epoch = Number(/in epoch (\d+)/.exec(err.message)![1]);
          // Nothing of the diverged epoch was reported or checkpointed; every reported loss was finite.
          expect(epochs).to.deep.equal(Array.from({ length: epoch - 1 }, (_, i) => i + 1));
          expect(checkpoints.every((c) => c < epoch)).to.equal(true);
          expect(err.message).to.match(/optimizer sgd at learningRate 0\.5/);
        },
      );
      expect(result).to.equal(undefined);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }

  it('the same data trains normally at a sane learning rate (the guard is not a false alarm)', async () => {
    const r = await train({
      table: hundreds(40, 1),
      target: 'y',
      spec: SPEC,
      options: { epochs: 5, batchSize: 8, learningRate: 0.01, optimizer: 'adam' },
    });
    expect(r.history.every((h) => Number.isFinite(h.loss))).to.equal(true);
    expect(r.finalMetrics.task).to.equal('regression');
  });

  describe('predict guard (online and batch share ml/serving/predictor.ts)', () => {
    async function modelArtifact(poison: (weights: tf.Tensor[]) => tf.Tensor[]): Promise<Buffer> {
      const r = await train({
        table: hundreds(40, 2),
        target: 'y',
        spec: SPEC,
        options: { epochs: 2, batchSize: 8, learningRate: 0.01, optimizer: 'adam' },
      });
      const trained = await loadTrainedModel(r.model);
      try {
        const replaced = poison(trained.model.getWeights());
        trained.model.setWeights(replaced);
        tf.dispose(replaced);
        return await saveTrainedModel(trained.model, trained.preprocessor, trained.spec);
      } finally {
        trained.dispose();
      }
    }

    it('a model whose weights are NaN (a diverged version registered before the fix) is refused with a 422', async () => {
      const content = await modelArtifact((weights) => weights.map((w) => tf.fill(w.shape, NaN)));
      await expectRejects(loadPredictor('mlp-regression', content), (err) => {
        expect(err.name).to.equal('NonFinitePredictionError');
        expect(httpStatusOf(err as DomainError)).to.equal(422);
        expect(err.message).to.match(/weights .* not finite/);
      });
    });

    it('a finite model whose output overflows for an input is an error, not {"values":[null]}', async () => {
      // Weights of 1e30: a finite model, but an input of 1e10 drives the output past float32 range.
      const content = await modelArtifact((weights) => weights.map((w) => tf.fill(w.shape, 1e30)));
      const predictor = await loadPredictor('mlp-regression', content);
      try {
        await expectRejects(predictor.predict(Float32Array.of(1e10, 1e10), 1), (err) => {
          expect(err.name).to.equal('NonFinitePredictionError');
          expect(err.message).to.match(/values\[0\] is (NaN|-?Infinity)/);
        });
      } finally {
        predictor.dispose();
      }
    });
  });
});
