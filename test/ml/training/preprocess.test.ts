import { expect } from 'chai';
import { Table } from '../../../datasets/table';
import {
  classNames,
  decodeTargets,
  encodeClasses,
  encodeTargets,
  fitPreprocessor,
  transform,
} from '../../../ml/training/preprocess';

const table: Table = {
  columns: [
    { name: 'a', type: 'number' },
    { name: 'k', type: 'number' },
    { name: 'cls', type: 'number' },
    { name: 's', type: 'string', levels: ['red', 'blue'] },
  ],
  rows: 4,
  values: Float64Array.from([1, 5, 2, 1, 3, 5, 10, 0, 5, 5, 2, 1, 100, 5, 0.5, 0]),
};

describe('ml/training/preprocess', () => {
  it('standardises features with statistics of the training rows only; a constant feature gets std 1', () => {
    const p = fitPreprocessor(table, 'cls', ['a', 'k'], [0, 1, 2], 'classification');
    expect(p.featureMean).to.deep.equal([3, 5]);
    expect(p.featureStd[0]).to.be.closeTo(Math.sqrt(8 / 3), 1e-12);
    expect(p.featureStd[1]).to.equal(1);
    const x = transform(p, [
      [3, 5],
      [100, 7],
    ]);
    expect(Array.from(x.slice(0, 2))).to.deep.equal([0, 0]);
    expect(x[3]).to.equal(2);
    expect(() => transform(p, [[1]])).to.throw(RangeError, /2 values/);
    expect(JSON.parse(JSON.stringify(p))).to.deep.equal(p);
  });

  it('names classes by string level or by number (ascending) and encodes rows to indices', () => {
    expect(classNames(table, 's')).to.deep.equal(['red', 'blue']);
    expect(classNames(table, 'cls')).to.deep.equal(['0.5', '2', '10']);
    const p = fitPreprocessor(table, 'cls', ['a'], [0, 1], 'classification');
    expect(Array.from(encodeClasses(p, table, [0, 1, 2, 3]))).to.deep.equal([1, 2, 1, 0]);
    const q = fitPreprocessor(table, 's', ['a'], [0, 1], 'classification');
    expect(Array.from(encodeClasses(q, table, [0, 1, 2, 3]))).to.deep.equal([1, 0, 1, 0]);
  });

  it('standardises a regression target on the training rows and maps outputs back', () => {
    const p = fitPreprocessor(table, 'cls', ['a'], [0, 1], 'regression');
    expect([p.targetMean, p.targetStd]).to.deep.equal([6, 4]);
    expect(Array.from(encodeTargets(p, table, [0, 1]))).to.deep.equal([-1, 1]);
    expect(decodeTargets(p, [-1, 0, 1])).to.deep.equal([2, 6, 10]);
    const raw = fitPreprocessor(table, 'cls', ['a'], [0, 1], 'regression', false);
    expect([raw.targetMean, raw.targetStd]).to.deep.equal([0, 1]);
  });
});
