import { expect } from 'chai';
import {
  ALL_METRICS,
  inMetricRange,
  metricInfo,
  metricRange,
  metricUndefinedOn,
  TASK_METRICS,
} from '../../../ml/evaluation/metrics';

describe('ml/evaluation/metrics: ranges and definedness', () => {
  it('bounds every metric: shares in [0, 1], R² ≤ 1, silhouette in [−1, 1], losses, errors and indices ≥ 0', () => {
    const ranges = Object.fromEntries(
      Object.values(TASK_METRICS).flatMap((metrics) =>
        Object.entries(metrics).map(([name, info]) => [name, metricRange(info)]),
      ),
    );
    expect(ranges).to.deep.equal({
      accuracy: '[0, 1]',
      precision: '[0, 1]',
      recall: '[0, 1]',
      f1: '[0, 1]',
      logLoss: '≥ 0',
      mse: '≥ 0',
      rmse: '≥ 0',
      mae: '≥ 0',
      r2: '≤ 1',
      silhouette: '[-1, 1]',
      daviesBouldin: '≥ 0',
      calinskiHarabasz: '≥ 0',
      inertia: '≥ 0',
    });
    expect(ALL_METRICS).to.have.members(Object.keys(ranges));
  });

  it('inMetricRange: bounds inclusive, out of range and non-finite refused', () => {
    const accuracy = metricInfo('classification', 'accuracy')!;
    expect([0, 0.5, 1].map((v) => inMetricRange(accuracy, v))).to.deep.equal([true, true, true]);
    expect([2, 1e308, -5, -1e-9, NaN].map((v) => inMetricRange(accuracy, v))).to.deep.equal([
      false,
      false,
      false,
      false,
      false,
    ]);
    const r2 = metricInfo('regression', 'r2')!;
    expect([inMetricRange(r2, -1e6), inMetricRange(r2, 1), inMetricRange(r2, 1.01)]).to.deep.equal([true, true, false]);
    const mse = metricInfo('regression', 'mse')!;
    expect([inMetricRange(mse, 1e308), inMetricRange(mse, -0.1)]).to.deep.equal([true, false]);
    expect(metricInfo('clustering', 'silhouette')).to.include({ greaterIsBetter: true, min: -1, max: 1 });
    expect(metricInfo('clustering', 'daviesBouldin')).to.include({ greaterIsBetter: false });
    expect(metricInfo('clustering', 'calinskiHarabasz')).to.include({ greaterIsBetter: true });
    expect(metricInfo('clustering', 'inertia')).to.include({ greaterIsBetter: false });
    expect(metricInfo('clustering', 'accuracy')).to.equal(undefined);
  });

  it('metricUndefinedOn: macro scores need two classes, R² a target that varies', () => {
    expect(metricUndefinedOn('classification', 'f1', { rows: 20, classes: 1 })).to.match(/two classes/);
    expect(metricUndefinedOn('classification', 'precision', { rows: 20, classes: 1 })).to.match(/two classes/);
    expect(metricUndefinedOn('classification', 'accuracy', { rows: 20, classes: 1 })).to.equal(undefined);
    expect(metricUndefinedOn('classification', 'f1', { rows: 20, classes: 2 })).to.equal(undefined);
    expect(metricUndefinedOn('regression', 'r2', { rows: 20, classes: 1, constant: true })).to.match(/constant/);
    expect(metricUndefinedOn('regression', 'mse', { rows: 20, classes: 1, constant: true })).to.equal(undefined);
  });
});
