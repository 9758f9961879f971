import { expect } from 'chai';
import { Table } from '../../../datasets/table';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../../ml/training/spec';
import { blobsTable } from './fixtures';

const table: Table = {
  columns: [
    { name: 'a', type: 'number' },
    { name: 'b', type: 'number' },
    { name: 'city', type: 'string', levels: ['x', 'y'] },
    { name: 'label', type: 'string', levels: ['yes', 'no'] },
    { name: 'const', type: 'number' },
  ],
  rows: 4,
  values: Float64Array.from([1, 2, 0, 0, 7, 2, 3, 1, 1, 7, 3, 4, 0, 0, 7, 4, 5, 1, 1, 7]),
};
const spec: TrainingSpec = { task: 'classification', layers: [{ units: 8, activation: 'relu' }] };
const options: TrainingOptions = { epochs: 5, batchSize: 2, learningRate: 0.01, validationSplit: 0.25 };

function fields(r: ReturnType<typeof validateTrainingRequest>): string[] {
  return r.ok ? [] : r.problems.map((p) => p.field);
}

describe('ml/training/spec validateTrainingRequest', () => {
  it('accepts a good request, resolving default features (number columns except the target) and options', () => {
    const r = validateTrainingRequest(table, 'label', undefined, spec, options);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.features).to.deep.equal(['a', 'b', 'const']);
    expect(r.options).to.include({
      optimizer: 'adam',
      seed: 0,
      checkpointEvery: 1,
      validationSplit: 0.25,
      standardizeTarget: true,
    });
    expect([r.trainRows, r.validationRows]).to.deep.equal([3, 1]);
  });

  it('names unknown, categorical, duplicate and target feature columns by index', () => {
    const r = validateTrainingRequest(table, 'label', ['a', 'nope', 'city', 'label', 'a'], spec, options);
    expect(fields(r)).to.deep.equal(['features[1]', 'features[2]', 'features[3]', 'features[4]']);
  });

  it('rejects an unknown target, a string regression target and a one-class classification target', () => {
    expect(fields(validateTrainingRequest(table, 'zzz', ['a'], spec, options))).to.deep.equal(['target']);
    expect(
      fields(validateTrainingRequest(table, 'city', ['a'], { ...spec, task: 'regression' }, options)),
    ).to.deep.equal(['target']);
    const r = validateTrainingRequest(table, 'const', ['a'], spec, options);
    expect(fields(r)).to.deep.equal(['target']);
    expect(r.ok ? '' : r.problems[0].message).to.match(/at least 2 classes/);
  });

  it('names every bad spec and option field', () => {
    const badSpec = {
      task: 'clustering',
      layers: [
        { units: 8, activation: 'relu' },
        { units: 0, activation: 'swish', dropout: 1 },
      ],
    } as unknown as TrainingSpec;
    const badOptions = {
      epochs: 10_001,
      batchSize: 0,
      learningRate: -1,
      optimizer: 'adagrad',
      validationSplit: 0.95,
      seed: 1.5,
      checkpointEvery: 0,
      earlyStopping: { patience: -1, minDelta: Number.NaN },
    } as unknown as TrainingOptions;
    expect(fields(validateTrainingRequest(table, 'label', ['a'], badSpec, badOptions))).to.deep.equal([
      'spec.task',
      'spec.layers[1].units',
      'spec.layers[1].activation',
      'spec.layers[1].dropout',
      'options.epochs',
      'options.batchSize',
      'options.learningRate',
      'options.optimizer',
      'options.validationSplit',
      'options.seed',
      'options.checkpointEvery',
      'options.earlyStopping.patience',
      'options.earlyStopping.minDelta',
    ]);
  });

  it('enforces the layer and unit limits', () => {
    const many = {
      task: 'regression' as const,
      layers: Array.from({ length: 21 }, () => ({ units: 4097, activation: 'relu' as const })),
    };
    const r = validateTrainingRequest(blobsTable(5, [[0], [1]], 0.1, 1), 'x0', [], many, options);
    expect(fields(r)).to.include.members(['spec.layers', 'spec.layers[0].units', 'spec.layers[20].units', 'features']);
  });

  it('rejects a validation split that leaves no validation row', () => {
    expect(
      fields(validateTrainingRequest(table, 'label', ['a'], spec, { ...options, validationSplit: 0.1 })),
    ).to.deep.equal(['options.validationSplit']);
    expect(validateTrainingRequest(table, 'label', ['a'], spec, { ...options, validationSplit: 0 }).ok).to.equal(true);
  });
});
