import { expect } from 'chai';
import { evaluateGate, METRIC_UNDEFINED, ResolvedThreshold } from '../../../ml/evaluation/gate';
import { holdoutRowCount, splitHoldout } from '../../../ml/evaluation/holdout';
import { Table } from '../../../datasets/table';

const up = (metric: string, t: Omit<ResolvedThreshold, 'metric' | 'greaterIsBetter'>): ResolvedThreshold => ({
  metric,
  greaterIsBetter: true,
  ...t,
});
const down = (metric: string, t: Omit<ResolvedThreshold, 'metric' | 'greaterIsBetter'>): ResolvedThreshold => ({
  metric,
  greaterIsBetter: false,
  ...t,
});

describe('promotion gate (MLflow MetricThreshold semantics)', () => {
  // The cases of MLflow's own tests (tests/models/test_evaluation.py, min_relative_change_threshold_test_spec).
  it('min_relative_change: MLflow pass and fail cases, boundaries inclusive', () => {
    const pass = (t: ResolvedThreshold, c: number, b: number) =>
      evaluateGate([t], { [t.metric]: c }, { [t.metric]: b }, 'fail').passed;
    expect(pass(up('accuracy', { minRelativeChange: 0.1 }), 0.75, 0.7)).to.equal(false);
    expect(pass(up('accuracy', { minRelativeChange: 0.1 }), 0.77, 0.7)).to.equal(true); // equality boundary
    expect(pass(down('logLoss', { minRelativeChange: 0.15 }), 0.3 * 0.85 - 1e-10, 0.3)).to.equal(true);
    expect(pass(down('logLoss', { minRelativeChange: 0.15 }), 0.27 + 1e-5, 0.3)).to.equal(false);
    expect(pass(down('mae', { minRelativeChange: 0.1 }), 0.55, 0.6)).to.equal(false);
    expect(pass(up('accuracy', { minRelativeChange: 0.1 }), 0.99 + 1e-10, 0.9)).to.equal(true);
    expect(pass(down('logLoss', { minRelativeChange: 0.15 }), 0.3, 0.4)).to.equal(true);
    // A champion at 0: strictly better passes, equal fails.
    expect(pass(up('r2', { minRelativeChange: 0.1 }), 1e-10, 0)).to.equal(true);
    expect(pass(up('r2', { minRelativeChange: 0.1 }), 0, 0)).to.equal(false);
  });

  it('threshold and min_absolute_change, all three failing at once are all reported', () => {
    const gate = evaluateGate(
      [up('accuracy', { threshold: 0.8, minAbsoluteChange: 0.1, minRelativeChange: 0.1 })],
      { accuracy: 0.75 },
      { accuracy: 0.7 },
      'fail',
    );
    expect(gate.passed).to.equal(false);
    const [r] = gate.results;
    expect(r.threshold).to.deep.equal({ value: 0.8, bound: 0.8, passed: false });
    expect(r.minAbsoluteChange?.passed).to.equal(false);
    expect(r.minAbsoluteChange?.bound).to.be.closeTo(0.8, 1e-12);
    expect(r.minRelativeChange?.passed).to.equal(false);
    expect(r.delta).to.be.closeTo(0.05, 1e-12);
    expect(r.relativeDelta).to.be.closeTo(0.05 / 0.7, 1e-12);
    expect(r.reason).to.match(/threshold 0.8/);
  });

  it('lower is better: a loss must fall by the absolute change', () => {
    const t = down('mse', { threshold: 1, minAbsoluteChange: 0.1 });
    expect(evaluateGate([t], { mse: 0.5 }, { mse: 0.6 }, 'fail').passed).to.equal(true);
    expect(evaluateGate([t], { mse: 0.55 }, { mse: 0.6 }, 'fail').passed).to.equal(false);
    expect(evaluateGate([t], { mse: 1.5 }, { mse: 3 }, 'fail').passed).to.equal(false);
  });

  it('every threshold is evaluated, even after one fails', () => {
    const gate = evaluateGate(
      [up('accuracy', { threshold: 0.99 }), up('f1', { threshold: 0.5 }), down('logLoss', { threshold: 0.1 })],
      { accuracy: 0.9, f1: 0.9, logLoss: 0.3 },
      undefined,
      'absolute-only',
    );
    expect(gate.results.map((r) => [r.metric, r.passed])).to.deep.equal([
      ['accuracy', false],
      ['f1', true],
      ['logLoss', false],
    ]);
  });

  it('no champion: absolute-only skips change criteria (null), fail fails the gate', () => {
    const t = [up('accuracy', { threshold: 0.8, minAbsoluteChange: 0.01 })];
    const absolute = evaluateGate(t, { accuracy: 0.9 }, undefined, 'absolute-only');
    expect(absolute.passed).to.equal(true);
    expect(absolute.results[0].minAbsoluteChange).to.deep.equal({ value: 0.01, bound: null, passed: null });
    expect(absolute.results[0]).to.include({ championValue: null, delta: null, relativeDelta: null });
    const failing = evaluateGate(t, { accuracy: 0.9 }, undefined, 'fail');
    expect(failing.passed).to.equal(false);
    expect(evaluateGate([up('accuracy', { threshold: 0.8 })], { accuracy: 0.9 }, undefined, 'fail')).to.include({
      passed: false,
    });
  });

  it('a metric undefined on the holdout fails its threshold as a verdict, naming why, instead of throwing', () => {
    // F1 of a one-class holdout: evaluation leaves it out; the gate says so and judges the other thresholds.
    const gate = evaluateGate(
      [up('f1', { threshold: 0.5 }), up('accuracy', { threshold: 0.5 })],
      { accuracy: 1, logLoss: 0.1 },
      undefined,
      'absolute-only',
    );
    expect(gate.passed).to.equal(false);
    expect(gate.results[0]).to.deep.equal({
      metric: 'f1',
      greaterIsBetter: true,
      value: null,
      championValue: null,
      delta: null,
      relativeDelta: null,
      passed: false,
      reason: METRIC_UNDEFINED,
    });
    expect(METRIC_UNDEFINED).to.equal('metric undefined on this holdout');
    expect(gate.results[1]).to.include({ metric: 'accuracy', passed: true });
  });

  it("a metric undefined for the champion's predictions leaves its change criteria to noChampion", () => {
    const t = [up('silhouette', { threshold: 0.2, minAbsoluteChange: 0.05 })];
    const absolute = evaluateGate(t, { silhouette: 0.6 }, { inertia: 3 }, 'absolute-only');
    expect(absolute.passed).to.equal(true);
    expect(absolute.results[0].minAbsoluteChange).to.deep.equal({ value: 0.05, bound: null, passed: null });
    const failing = evaluateGate(t, { silhouette: 0.6 }, { inertia: 3 }, 'fail');
    expect(failing.passed).to.equal(false);
    expect(failing.results[0].reason).to.match(/champion's silhouette, which is undefined on this holdout/);
  });
});

describe('seeded holdout split', () => {
  const table: Table = {
    columns: [{ name: 'x', type: 'number' }],
    rows: 10,
    values: Float64Array.from({ length: 10 }, (_, i) => i),
  };

  it('holds out floor(rows × fraction) rows, disjoint, in row order, the same for the same seed', () => {
    expect(holdoutRowCount(10, 0.25)).to.equal(2);
    const a = splitHoldout(table, 0.3, 42);
    const b = splitHoldout(table, 0.3, 42);
    expect(a.holdout.rows).to.equal(3);
    expect(a.train.rows).to.equal(7);
    expect(Array.from(a.holdout.values)).to.deep.equal(Array.from(b.holdout.values));
    const all = [...a.train.values, ...a.holdout.values].sort((x, y) => x - y);
    expect(all).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const sorted = Array.from(a.holdout.values);
    expect(sorted).to.deep.equal([...sorted].sort((x, y) => x - y));
    expect(Array.from(splitHoldout(table, 0.3, 43).holdout.values)).to.not.deep.equal(sorted);
  });

  it('refuses a fraction that holds out no row or leaves none', () => {
    expect(() => splitHoldout(table, 0.05, 1)).to.throw(/no row/);
    expect(() => splitHoldout(table, 1, 1)).to.throw(/no row to train/);
  });
});
