import { expect } from 'chai';
import { Table } from '../../../datasets/table';
import { EvaluationError, evaluateTrainedModel } from '../../../ml/evaluation/evaluate';
import { train } from '../../../ml/training/train';
import { expectRejects } from '../../support/expect-rejects';
import { blobsTable } from '../training/fixtures';

describe('ml/evaluation/evaluate: an MLP on a holdout', function () {
  this.timeout(60_000);
  const centers = [
    [0, 0],
    [5, 5],
  ];
  let model: Buffer;

  before(async () => {
    const table = blobsTable(40, centers, 0.5, 3, ['a', 'b']);
    model = (
      await train({
        table,
        target: 'species',
        spec: { task: 'classification', layers: [{ units: 8, activation: 'relu' }] },
        options: { epochs: 20, batchSize: 16, learningRate: 0.05, seed: 1 },
      })
    ).model;
  });

  it('reports holdout classes the model never saw, with their rows, and counts those rows as errors', async () => {
    // The holdout's levels: a, b and z, a class absent from the training data, on 10 of 50 rows.
    const known = blobsTable(20, centers, 0.5, 9, ['a', 'b']);
    const values = Array.from(known.values);
    for (let i = 0; i < 10; i++) values.push(2.5, 2.5, 2);
    const holdout: Table = {
      columns: [known.columns[0], known.columns[1], { name: 'species', type: 'string', levels: ['a', 'b', 'z'] }],
      rows: 50,
      values: Float64Array.from(values),
    };
    const evaluation = await evaluateTrainedModel(model, holdout, 'candidate');
    expect(evaluation.details.unseenClasses).to.deep.equal([{ class: 'z', rows: 10 }]);
    expect(evaluation.details.classes).to.deep.equal(['a', 'b', 'z']);
    expect(evaluation.metrics.accuracy).to.be.at.most(0.8);

    const clean = await evaluateTrainedModel(model, known, 'candidate');
    expect(clean.details.unseenClasses).to.deep.equal([]);
    expect(clean.metrics.accuracy).to.be.greaterThan(0.9);
  });

  it('refuses a champion that predicts another target or task than the candidate', async () => {
    const holdout = blobsTable(10, centers, 0.5, 9, ['a', 'b']);
    await expectRejects(evaluateTrainedModel(model, holdout, 'champion', { target: 'label' }), (err) => {
      expect(err).to.be.instanceOf(EvaluationError);
      expect(err.message).to.equal('champion predicts "species"; the candidate predicts "label"');
    });
    await expectRejects(evaluateTrainedModel(model, holdout, 'champion', { task: 'regression' }), (err) =>
      expect(err.message).to.equal('champion is a classification model; the candidate is a regression model'),
    );
  });
});
