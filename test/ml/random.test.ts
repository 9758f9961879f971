import { expect } from 'chai';
import { Random, cumulativeSum, sampleWeighted } from '../../ml/random';

describe('ml/random', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const r = new Random(seed);
      return Array.from({ length: 20 }, () => r.nextUint32());
    };
    expect(draw(7)).to.deep.equal(draw(7));
    expect(draw(7)).to.not.deep.equal(draw(8));
  });

  it('nextFloat is in [0, 1) with a plausible mean', () => {
    const r = new Random(1);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const v = r.nextFloat();
      expect(v).to.be.at.least(0).and.below(1);
      sum += v;
    }
    expect(sum / 20000).to.be.closeTo(0.5, 0.01);
  });

  it('sampleDistinct returns distinct in-range indices, and a permutation when count = n', () => {
    const r = new Random(3);
    const some = r.sampleDistinct(1000, 50);
    expect(new Set(some).size).to.equal(50);
    expect(some.every((i) => Number.isInteger(i) && i >= 0 && i < 1000)).to.equal(true);
    const all = r.sampleDistinct(30, 30);
    expect([...all].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    expect(() => r.sampleDistinct(3, 4)).to.throw(RangeError);
  });

  it('sampleWeighted draws in proportion to weight and never draws a zero weight', () => {
    const r = new Random(5);
    const weights = [0, 1, 0, 3, 0];
    const cumulative = cumulativeSum(weights);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[sampleWeighted(cumulative, r)]++;
    expect(counts[0] + counts[2] + counts[4]).to.equal(0);
    expect(counts[3] / counts[1]).to.be.closeTo(3, 0.3);
  });

  it('sampleWeighted is uniform when every weight is zero', () => {
    const r = new Random(6);
    const cumulative = cumulativeSum([0, 0, 0, 0]);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(sampleWeighted(cumulative, r));
    expect([...seen].sort()).to.deep.equal([0, 1, 2, 3]);
  });

  it('rejects a non-finite seed', () => {
    expect(() => new Random(NaN)).to.throw(RangeError, /seed/);
  });
});
