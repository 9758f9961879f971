import { expect } from 'chai';
import { chiSquareTest } from '../../../ml/validation/chi-square';
import { FloatSorter } from '../../../ml/validation/float-sort';
import { chiSquareSf, gammaQ, logGamma } from '../../../ml/validation/gamma';
import { kolmogorovSf } from '../../../ml/validation/kolmogorov';
import { ks2Samp, ksStatistic, roundHalfEven } from '../../../ml/validation/ks-2samp';
import { resolveOptions, VALIDATION_DEFAULTS } from '../../../ml/validation/options';
import { binCounts, psiBand, psiFromCounts, quantileEdges } from '../../../ml/validation/psi';
import { countAtMost, countBelow, quantileSorted } from '../../../ml/validation/quantile';
import { replaceNonFinite } from '../../../ml/validation/finite-guard';
import { smirnovSf } from '../../../ml/validation/smirnov';
import { Random } from '../../../ml/random';

describe('ml/validation statistics', () => {
  describe('FloatSorter', () => {
    const sorter = new FloatSorter();
    const same = (values: Float64Array) => {
      const expected = Float64Array.from(values).sort();
      expect(Array.from(sorter.sort(Float64Array.from(values)))).to.deep.equal(Array.from(expected));
    };

    it('sorts like Float64Array.prototype.sort (negatives, zeros, ties, subnormals, extremes)', () => {
      const rng = new Random(5);
      const mixed = Float64Array.from({ length: 5000 }, (_, i) =>
        i % 7 === 0 ? Math.round(rng.nextGaussian()) : rng.nextGaussian() * 10 ** rng.nextInt(20) * (i % 2 ? 1 : -1),
      );
      mixed.set([0, -0, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 1, 1, 1], 0);
      same(mixed);
    });

    it('orders long runs that share their high 32 bits by the low word', () => {
      // 1 + k·2^-52 all share the high word; 3000 of them in reverse order, and a few other values.
      const run = Float64Array.from({ length: 3000 }, (_, i) => 1 + (3000 - i) * 2 ** -52);
      same(Float64Array.from([...run, 2, 0.5, ...run.subarray(0, 10)]));
    });

    it('sorts a prefix only and leaves short arrays to the native sort', () => {
      const v = Float64Array.from([3, 2, 1, 0, -1]);
      sorter.sort(v, 3);
      expect(Array.from(v)).to.deep.equal([1, 2, 3, 0, -1]);
    });
  });

  describe('quantiles and counts (numpy semantics)', () => {
    it('matches numpy.quantile (linear) on small arrays', () => {
      const a = [1, 2, 3, 4];
      // numpy.quantile([1, 2, 3, 4], [0, 0.1, 0.5, 0.9, 1]) = [1, 1.3, 2.5, 3.7, 4]
      expect([0, 0.1, 0.5, 0.9, 1].map((q) => quantileSorted(a, q))).to.deep.equal([1, 1.3, 2.5, 3.7, 4]);
      expect(quantileSorted([7], 0.3)).to.equal(7);
      expect(() => quantileSorted([], 0.5)).to.throw(RangeError);
    });

    it('counts strictly below and at-or-below', () => {
      const a = [1, 2, 2, 2, 5];
      expect([countBelow(a, 2), countAtMost(a, 2), countBelow(a, 0), countAtMost(a, 9)]).to.deep.equal([1, 4, 0, 5]);
    });
  });

  describe('PSI', () => {
    it('is zero for equal shares, symmetric, and finite with empty bins', () => {
      expect(psiFromCounts([10, 20, 30], [1, 2, 3], 1e-4)).to.equal(0);
      const a = psiFromCounts([10, 20, 30], [30, 20, 10], 1e-4);
      expect(a).to.be.closeTo(psiFromCounts([30, 20, 10], [10, 20, 30], 1e-4), 1e-15);
      // (0.5 − 1e-4)·ln(0.5/1e-4) twice
      expect(psiFromCounts([1, 0], [0, 1], 1e-4)).to.be.closeTo(2 * (1 - 1e-4) * Math.log(1e4), 1e-12);
      expect(() => psiFromCounts([0, 0], [1, 1], 1e-4)).to.throw(RangeError);
    });

    it('bins on deduplicated reference quantiles, right-closed', () => {
      const ref = Float64Array.from([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
      const edges = quantileEdges(ref, 4); // quantiles at 1/4, 2/4, 3/4: 0, 0, 1.75 -> [0, 1.75]
      expect(edges).to.deep.equal([0, 1.75]);
      expect(Array.from(binCounts(ref, edges))).to.deep.equal([6, 1, 3]);
    });

    it('bands: < 0.1 none, 0.1–0.25 moderate, > 0.25 significant', () => {
      expect([0, 0.0999, 0.1, 0.25, 0.2501].map((p) => psiBand(p, 0.1, 0.25))).to.deep.equal([
        'none',
        'none',
        'moderate',
        'moderate',
        'significant',
      ]);
    });
  });

  describe('Kolmogorov–Smirnov', () => {
    const f = (xs: number[]) => Float64Array.from(xs).sort();

    it('statistic counts ties on both sides at once', () => {
      expect(ksStatistic(f([1, 2, 3]), f([1, 2, 3]))).to.equal(0);
      expect(ksStatistic(f([1, 1, 2]), f([1, 2, 2]))).to.be.closeTo(1 / 3, 1e-15);
      expect(ksStatistic(f([1, 2, 3]), f([4, 5, 6]))).to.equal(1);
    });

    it('exact p-values for tiny samples (by counting the C(6,3) = 20 orderings)', () => {
      // Complete separation: 2 of 20 orderings reach D = 1.
      const separated = ks2Samp(f([1, 2, 3]), f([4, 5, 6]));
      expect(separated).to.include({ statistic: 1, method: 'exact' });
      expect(separated.pValue).to.be.closeTo(0.1, 1e-15);
      expect(ks2Samp(f([1, 2, 3]), f([1, 2, 3])).pValue).to.equal(1);
      expect(() => ks2Samp(f([]), f([1]))).to.throw(RangeError);
    });

    it('switches to the asymptotic distribution above exactMaxN', () => {
      const a = f([0.1, 0.4, 0.5, 0.9]);
      const b = f([0.2, 0.3, 0.6, 0.7, 0.8]);
      expect(ks2Samp(a, b).method).to.equal('exact');
      expect(ks2Samp(a, b, 3).method).to.equal('asymp');
    });

    it('Kolmogorov and Smirnov tails at their closed forms', () => {
      // n·x ≤ 1/2: D_n ≥ x surely; x ≥ 1: never. P(D_1 ≥ x) = 1 − (2x − 1) for 1/2 ≤ x ≤ 1.
      expect(kolmogorovSf(10, 0.04)).to.equal(1);
      expect(kolmogorovSf(10, 1)).to.equal(0);
      expect(kolmogorovSf(1, 0.75)).to.be.closeTo(0.5, 1e-15);
      // x ≥ 1 − 1/n: 2(1 − x)^n.
      expect(kolmogorovSf(4, 0.8)).to.be.closeTo(2 * 0.2 ** 4, 1e-17);
      // One-sided: P(D+_1 ≥ x) = 1 − x; P(D+_n ≥ x) = (1 − x)^n for x ≥ 1 − 1/n.
      expect(smirnovSf(1, 0.3)).to.be.closeTo(0.7, 1e-15);
      expect(smirnovSf(5, 0.9)).to.be.closeTo(0.1 ** 5, 1e-18);
      expect(Number.isNaN(kolmogorovSf(2.5, 0.1))).to.equal(true);
    });

    it('rounds half to even like numpy', () => {
      expect([0.5, 1.5, 2.5, 5000.5, 2.4, 2.6].map(roundHalfEven)).to.deep.equal([0, 2, 2, 5000, 2, 3]);
    });
  });

  describe('gamma and chi-square', () => {
    it('log Γ matches factorials and Γ(1/2) = √π', () => {
      expect(logGamma(1)).to.be.closeTo(0, 1e-14);
      expect(logGamma(11)).to.be.closeTo(Math.log(3628800), 1e-13);
      expect(logGamma(0.5)).to.be.closeTo(Math.log(Math.sqrt(Math.PI)), 1e-14);
      expect(Number.isNaN(logGamma(0))).to.equal(true);
    });

    it('Q(1, x) = e^−x and the chi-square tail with 2 dof is e^(−x/2)', () => {
      for (const x of [0.01, 0.5, 1, 3, 30, 300]) {
        expect(gammaQ(1, x)).to.be.closeTo(Math.exp(-x), Math.exp(-x) * 1e-13);
        expect(chiSquareSf(x, 2)).to.be.closeTo(Math.exp(-x / 2), Math.exp(-x / 2) * 1e-13);
      }
      expect(chiSquareSf(0, 3)).to.equal(1);
    });

    it('chiSquareTest: Pearson statistic, one category has nothing to test, bad input refused', () => {
      const r = chiSquareTest([10, 20, 30], [20, 20, 20]);
      expect(r.statistic).to.be.closeTo(10, 1e-12);
      expect(r.dof).to.equal(2);
      expect(r.pValue).to.be.closeTo(Math.exp(-5), 1e-15);
      expect(chiSquareTest([5], [5])).to.deep.equal({ statistic: 0, dof: 0, pValue: 1 });
      expect(() => chiSquareTest([1, 2], [0, 3])).to.throw(RangeError, /positive/);
      expect(() => chiSquareTest([1, 2], [3])).to.throw(RangeError);
    });
  });

  describe('options', () => {
    it('documents its defaults and applies overrides', () => {
      expect(VALIDATION_DEFAULTS).to.include({ psiBins: 10, psiEpsilon: 1e-4, psiModerate: 0.1, psiSignificant: 0.25 });
      expect(VALIDATION_DEFAULTS).to.include({ rangeMargin: 0.1, driftPValue: 0.05, maxDriftShare: 0.5 });
      const o = resolveOptions({ psiBins: 20, severities: { drift: 'error' } });
      expect(o.psiBins).to.equal(20);
      expect(o.severities.drift).to.equal('error');
      expect(o.severities.row_count).to.equal('error');
      expect(resolveOptions({ psiBins: undefined }).psiBins).to.equal(10);
    });

    it('refuses values out of range', () => {
      expect(() => resolveOptions({ maxMissingRate: 1.5 })).to.throw(RangeError, /maxMissingRate/);
      expect(() => resolveOptions({ minRows: 5, maxRows: 2 })).to.throw(RangeError, /minRows/);
      expect(() => resolveOptions({ psiEpsilon: 0 })).to.throw(RangeError, /psiEpsilon/);
      expect(() => resolveOptions({ psiModerate: 0.3, psiSignificant: 0.2 })).to.throw(RangeError, /psiSignificant/);
      expect(() => resolveOptions({ profileQuantiles: [2] })).to.throw(RangeError, /profileQuantiles/);
      expect(() => resolveOptions({ severities: { nope: 'warn' } as never })).to.throw(RangeError, /unknown check/);
      expect(() => resolveOptions({ psiBin: 5 } as never)).to.throw(RangeError, /unknown option 'psiBin'/);
      expect(() => resolveOptions({ severities: { drift: 'fatal' } as never })).to.throw(RangeError, /drift/);
    });
  });

  describe('replaceNonFinite', () => {
    it('replaces NaN and ±Infinity with null, says where, and drops undefined fields', () => {
      const { value, found } = replaceNonFinite({ a: [1, NaN], b: { c: Infinity, d: 'x', e: undefined } });
      expect(value).to.deep.equal({ a: [1, null], b: { c: null, d: 'x' } });
      expect(found).to.deep.equal(['$.a[1]', '$.b.c']);
    });
  });
});
