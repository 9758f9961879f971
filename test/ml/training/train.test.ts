import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../../ml/backend';
import { readCheckpoint } from '../../../ml/training/checkpoint';
import { loadTrainedModel, predictTrained } from '../../../ml/training/predict';
import { extractFeatures, transform } from '../../../ml/training/preprocess';
import { TrainingOptions, TrainingSpec, TrainingValidationError } from '../../../ml/training/spec';
import { epochOrder, trainValidationSplit } from '../../../ml/training/split';
import { ClassificationMetrics, RegressionMetrics, TrainingInput, train } from '../../../ml/training/train';
import { expectRejects } from '../../support/expect-rejects';
import { blobsTable, linearTable } from './fixtures';

const blobs = blobsTable(
  60,
  [
    [0, 0],
    [4, 4],
    [0, 5],
  ],
  0.6,
  7,
);
const clsSpec: TrainingSpec = {
  task: 'classification',
  layers: [
    { units: 16, activation: 'relu' },
    { units: 8, activation: 'tanh' },
  ],
};
const clsOptions: TrainingOptions = { epochs: 30, batchSize: 16, learningRate: 0.02, seed: 3 };
const clsInput: TrainingInput = { table: blobs, target: 'species', spec: clsSpec, options: clsOptions };

async function weightsOf(artifact: Buffer): Promise<Float32Array[]> {
  const m = await loadTrainedModel(artifact);
  try {
    return await Promise.all(m.model.getWeights().map(async (w) => Float32Array.from(await w.data())));
  } finally {
    m.dispose();
  }
}

describe('ml/training/split', () => {
  it('splits deterministically by seed into disjoint sorted parts covering every row', () => {
    const a = trainValidationSplit(50, 10, 1);
    expect(trainValidationSplit(50, 10, 1)).to.deep.equal(a);
    expect(trainValidationSplit(50, 10, 2).validation).to.not.deep.equal(a.validation);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(a.validation.length).to.equal(10);
  });

  it('gives each epoch its own permutation, a pure function of (seed, epoch)', () => {
    expect(epochOrder(20, 5, 3)).to.deep.equal(epochOrder(20, 5, 3));
    expect(epochOrder(20, 5, 3)).to.not.deep.equal(epochOrder(20, 5, 4));
    expect([...epochOrder(20, 5, 3)].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('ml/training/train', function () {
  before(async () => {
    await initComputeBackend();
  });

  it('classifies well-separated blobs with string class names (validation accuracy >= 0.95)', async () => {
    const epochs: number[] = [];
    const r = await train(clsInput, { onEpoch: (e) => void epochs.push(e.epoch) });
    const m = r.finalMetrics as ClassificationMetrics;
    expect(m.task).to.equal('classification');
    expect(m.evaluatedOn).to.equal('validation');
    expect(m.rows).to.equal(36);
    expect(m.classes).to.deep.equal(['setosa', 'versicolor', 'virginica']);
    expect(m.accuracy).to.be.at.least(0.95);
    expect(m.f1).to.be.at.least(0.95);
    expect(m.confusionMatrix.flat().reduce((s, v) => s + v, 0)).to.equal(36);
    expect(epochs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(r.history).to.have.length(30);
    expect(r.history[29].loss).to.be.lessThan(r.history[0].loss);
    expect(r.history[29].valLoss).to.be.a('number');
    expect(r.history[29].metrics).to.have.keys(['accuracy', 'valAccuracy']);
    expect(r).to.include({ epochsRun: 30, resumedFromEpoch: 0, stoppedEarly: false });
    expect(r.features).to.deep.equal(['x0', 'x1']);
    expect(r.samplesPerSecond).to.be.greaterThan(0);
  });

  it('fits a noisy linear regression (R² >= 0.95 on the original scale)', async () => {
    const r = await train({
      table: linearTable(300, 0.3, 11),
      target: 'y',
      spec: { task: 'regression', layers: [{ units: 16, activation: 'relu' }] },
      options: { epochs: 40, batchSize: 32, learningRate: 0.01, seed: 1 },
    });
    const m = r.finalMetrics as RegressionMetrics;
    expect(m.task).to.equal('regression');
    expect(m.r2).to.be.at.least(0.95);
    expect(m.mae).to.be.lessThan(2);
    expect(r.history[39].metrics).to.have.keys(['mae', 'valMae']);
  });

  it('predicts from the artifact exactly as the model computes on the transformed rows, matching the final metrics', async () => {
    const r = await train({ ...clsInput, options: { ...clsOptions, epochs: 5, validationSplit: 0 } });
    const m = r.finalMetrics as ClassificationMetrics;
    expect(m.evaluatedOn).to.equal('training');
    const rows = Array.from({ length: blobs.rows }, (_, i) => i);
    const raw = extractFeatures(blobs, ['x0', 'x1'], rows);
    const before = tf.memory().numTensors;
    const loaded = await loadTrainedModel(r.model);
    const pred = await predictTrained(loaded, raw);
    if (pred.task !== 'classification') throw new Error('expected a classification prediction');
    const direct = tf.tidy(
      () =>
        (loaded.model.predict(tf.tensor2d(transform(loaded.preprocessor, raw), [blobs.rows, 2])) as tf.Tensor)
          .argMax(1)
          .arraySync() as number[],
    );
    expect(pred.labels).to.deep.equal(direct.map((k) => pred.classes[k]));
    const truth = rows.map((i) => blobs.columns[2].levels![blobs.values[i * 3 + 2]]);
    const accuracy = pred.labels.filter((l, i) => l === truth[i]).length / rows.length;
    expect(accuracy).to.equal(m.accuracy);
    pred.probabilities.forEach((p) => expect(p.reduce((s, v) => s + v, 0)).to.be.closeTo(1, 1e-5));
    const asArrays = await predictTrained(
      loaded,
      rows.slice(0, 3).map((i) => [blobs.values[i * 3], blobs.values[i * 3 + 1]]),
    );
    expect(asArrays.task === 'classification' && asArrays.labels).to.deep.equal(pred.labels.slice(0, 3));
    loaded.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const opts = { ...clsOptions, epochs: 3 };
    const a = await train({ ...clsInput, options: opts });
    const b = await train({ ...clsInput, options: opts });
    const c = await train({ ...clsInput, options: { ...opts, seed: 4 } });
    expect(b.history).to.deep.equal(a.history);
    expect(await weightsOf(b.model)).to.deep.equal(await weightsOf(a.model));
    expect(await weightsOf(c.model)).to.not.deep.equal(await weightsOf(a.model));
  });

  for (const optimizer of ['adam', 'rmsprop', 'sgd'] as const) {
    it(`resumes from a checkpoint exactly as if uninterrupted (${optimizer})`, async () => {
      const input: TrainingInput = { ...clsInput, options: { ...clsOptions, epochs: 4, optimizer } };
      const checkpoints = new Map<number, Buffer>();
      const full = await train(input, { onCheckpoint: (epoch, buf) => void checkpoints.set(epoch, buf) });
      expect([...checkpoints.keys()]).to.deep.equal([1, 2, 3, 4]);
      const after2 = checkpoints.get(2)!;
      const parsed = readCheckpoint(after2);
      expect(parsed.state.epoch).to.equal(2);
      expect(parsed.state.history).to.deep.equal(full.history.slice(0, 2));
      expect(parsed.optimizerIterations).to.equal(2 * Math.ceil(144 / 16));

      const seen: number[] = [];
      const resumed = await train({ ...input, resumeFrom: after2 }, { onEpoch: (e) => void seen.push(e.epoch) });
      expect(seen).to.deep.equal([3, 4]);
      expect(resumed.resumedFromEpoch).to.equal(2);
      expect(resumed.epochsRun).to.equal(4);
      expect(resumed.history).to.deep.equal(full.history);
      expect(await weightsOf(resumed.model)).to.deep.equal(await weightsOf(full.model));
    });
  }

  it('refuses a checkpoint from another request, and garbage', async () => {
    let cp: Buffer | undefined;
    await train({ ...clsInput, options: { ...clsOptions, epochs: 1 } }, { onCheckpoint: (_, b) => void (cp = b) });
    await expectRejects(
      train({ ...clsInput, options: { ...clsOptions, epochs: 2, learningRate: 0.5 }, resumeFrom: cp }),
      (err) => expect(err.message).to.match(/another training run.*learningRate/),
    );
    await expectRejects(train({ ...clsInput, resumeFrom: Buffer.from('nonsense') }), (err) =>
      expect(err.name).to.equal('TrainingFormatError'),
    );
  });

  it('stops early when the monitored loss stops improving', async () => {
    const r = await train({
      ...clsInput,
      options: { ...clsOptions, epochs: 200, earlyStopping: { patience: 2, minDelta: 0.5 } },
    });
    expect(r.stoppedEarly).to.equal(true);
    expect(r.stoppedBy).to.equal('early-stopping');
    expect(r.epochsRun).to.be.lessThan(200);
    expect(r.history).to.have.length(r.epochsRun);
    // The last two epochs did not improve on the best by more than minDelta.
    const losses = r.history.map((h) => h.valLoss!);
    const best = Math.min(...losses.slice(0, -2));
    expect(losses.slice(-2).every((l) => l >= best - 0.5)).to.equal(true);
  });

  it('stops gracefully after the current epoch on request, with a checkpoint to resume from', async () => {
    let epochsSeen = 0;
    const checkpoints: number[] = [];
    const r = await train(
      { ...clsInput, options: { ...clsOptions, epochs: 50, checkpointEvery: 10 } },
      {
        onEpoch: () => void epochsSeen++,
        shouldStop: () => epochsSeen >= 3,
        onCheckpoint: (e) => void checkpoints.push(e),
      },
    );
    expect(r).to.include({ epochsRun: 3, stoppedEarly: true, stoppedBy: 'stop-request' });
    expect(checkpoints).to.deep.equal([3]);
    expect(r.finalMetrics.task).to.equal('classification');
  });

  it('aborts with an AbortError and releases every tensor', async () => {
    const baseline = tf.memory().numTensors;
    const controller = new AbortController();
    let epochs = 0;
    await expectRejects(
      train(clsInput, { signal: controller.signal, onEpoch: () => (++epochs === 2 ? controller.abort() : undefined) }),
      (err) => expect(err.name).to.equal('AbortError'),
    );
    expect(epochs).to.equal(2);
    expect(tf.memory().numTensors).to.equal(baseline);
    const pre = new AbortController();
    pre.abort();
    await expectRejects(train(clsInput, { signal: pre.signal }), (err) => expect(err.name).to.equal('AbortError'));
  });

  it('returns tf.memory().numTensors to its baseline after train and after predict', async () => {
    const baseline = tf.memory().numTensors;
    const r = await train({
      ...clsInput,
      options: { ...clsOptions, epochs: 2, optimizer: 'rmsprop' },
      spec: { task: 'classification', layers: [{ units: 8, activation: 'selu', dropout: 0.2 }] },
    });
    expect(tf.memory().numTensors).to.equal(baseline);
    const loaded = await loadTrainedModel(r.model);
    await predictTrained(loaded, [
      [0, 0],
      [4, 4],
    ]);
    loaded.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('trains every activation (with dropout) on the wasm backend', async () => {
    const layers = (['relu', 'tanh', 'sigmoid', 'linear', 'elu', 'selu', 'softplus'] as const).map((activation) => ({
      units: 4,
      activation,
      dropout: 0.1,
    }));
    const r = await train({
      ...clsInput,
      spec: { task: 'classification', layers },
      options: { ...clsOptions, epochs: 1 },
    });
    expect(Number.isFinite(r.history[0].loss)).to.equal(true);
  });

  it('rejects an invalid request with every problem named', async () => {
    await expectRejects(
      train({ ...clsInput, features: ['x0', 'species'], options: { ...clsOptions, epochs: 0 } }),
      (err) => {
        expect(err).to.be.instanceOf(TrainingValidationError);
        expect((err as TrainingValidationError).problems.map((p) => p.field)).to.deep.equal([
          'options.epochs',
          'features[1]',
        ]);
      },
    );
  });
});
