import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../../common/paths';
import { CategoricalColumn } from '../../../ml/validation/column-data';
import { categoricalDrift } from '../../../ml/validation/drift';
import { FloatSorter } from '../../../ml/validation/float-sort';
import { chiSquareSf } from '../../../ml/validation/gamma';
import { kolmogorovSf } from '../../../ml/validation/kolmogorov';
import { ks2Samp } from '../../../ml/validation/ks-2samp';
import { resolveOptions } from '../../../ml/validation/options';
import { profileNumeric } from '../../../ml/validation/profile';
import { binCounts, numericPsi } from '../../../ml/validation/psi';
import { validateTable } from '../../../ml/validation/validate';
import { generateChecked, SampleSpec } from './samples';

// Reference values written by test/fixtures/validation/make_fixtures.py (numpy + scipy; versions in manifest.json).
const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'validation');
const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as T;

const STAT_RTOL = 1e-9;
const P_RTOL = 1e-6;

function expectClose(actual: number | undefined, expected: number, rtol: number, what: string): void {
  expect(actual, what).to.be.a('number');
  const a = actual as number;
  expect(Number.isFinite(a), `${what}: ${a} is not finite`).to.equal(true);
  const tol = rtol * Math.abs(expected) + 1e-300;
  expect(Math.abs(a - expected), `${what}: ${a} vs scipy ${expected}`).to.be.at.most(tol);
}

const sorter = new FloatSorter();
const sortedSample = (spec: SampleSpec): Float64Array => sorter.sort(generateChecked(spec));

interface KsCase {
  name: string;
  a: SampleSpec;
  b: SampleSpec;
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
  en: number;
}

interface PsiCase {
  name: string;
  reference: SampleSpec;
  current: SampleSpec;
  bins: number;
  epsilon: number;
  edges: number[];
  referenceCounts: number[];
  currentCounts: number[];
  psi: number;
}

interface CategoricalCase {
  name: string;
  epsilon: number;
  reference: { levels: string[]; counts: number[] };
  current: { levels: string[]; counts: number[] };
  statistic: number;
  pvalue: number;
  dof: number;
  unseenRows: number;
  psi: number;
}

function categorical(name: string, side: { levels: string[]; counts: number[] }): CategoricalColumn {
  const rows = side.counts.reduce((s, c) => s + c, 0);
  return {
    kind: 'string',
    name,
    rows,
    missing: 0,
    invalid: 0,
    levels: side.levels,
    counts: Float64Array.from(side.counts),
  };
}

describe('ml/validation agrees with scipy/numpy (fixtures)', () => {
  describe('two-sample Kolmogorov–Smirnov (scipy.stats.ks_2samp, method=auto)', () => {
    const { cases } = load<{ cases: KsCase[] }>('ks.json');

    it('covers exact and asymptotic cases, ties and shifts', () => {
      expect(cases.filter((c) => c.method === 'exact').length).to.be.at.least(10);
      expect(cases.filter((c) => c.method === 'asymp').length).to.be.at.least(10);
      expect(cases.some((c) => c.name.includes('ties'))).to.equal(true);
      expect(cases.some((c) => c.pvalue < 1e-30 && c.pvalue > 0)).to.equal(true);
    });

    for (const c of cases) {
      it(`${c.name} (${c.a.n} vs ${c.b.n}, ${c.method})`, () => {
        const result = ks2Samp(sortedSample(c.a), sortedSample(c.b));
        expect(result.method).to.equal(c.method);
        expectClose(result.statistic, c.statistic, STAT_RTOL, 'statistic');
        expectClose(result.pValue, c.pvalue, P_RTOL, 'p-value');
        // The test is symmetric in its samples.
        const swapped = ks2Samp(sortedSample(c.b), sortedSample(c.a));
        expectClose(swapped.pValue, c.pvalue, P_RTOL, 'p-value (samples swapped)');
      });
    }
  });

  describe('Kolmogorov distribution (scipy.stats.kstwo.sf)', () => {
    const { grid } = load<{ grid: Array<{ n: number; x: number; sf: number }> }>('kstwo.json');

    it('matches on a grid that reaches every branch', () => {
      expect(grid.length).to.be.at.least(200);
      for (const { n, x, sf } of grid) expectClose(kolmogorovSf(n, x), sf, P_RTOL, `kstwo.sf(${x}, ${n})`);
    });
  });

  describe('chi-square', () => {
    const { chdtrc, categorical: cases } = load<{
      chdtrc: Array<{ dof: number; x: number; sf: number }>;
      categorical: CategoricalCase[];
    }>('chi2.json');

    it('survival function matches scipy.special.chdtrc (regularized upper incomplete gamma)', () => {
      expect(chdtrc.length).to.be.at.least(150);
      for (const { dof, x, sf } of chdtrc) expectClose(chiSquareSf(x, dof), sf, P_RTOL, `chdtrc(${dof}, ${x})`);
    });

    for (const c of cases) {
      it(`categorical drift '${c.name}' matches scipy.stats.chisquare and numpy PSI`, () => {
        const options = resolveOptions({ psiEpsilon: c.epsilon });
        const drift = categoricalDrift(categorical('col', c.reference), categorical('col', c.current), options);
        expect(drift?.chi2?.dof).to.equal(c.dof);
        expectClose(drift?.chi2?.statistic, c.statistic, STAT_RTOL, 'chi2 statistic');
        expectClose(drift?.chi2?.pValue, c.pvalue, P_RTOL, 'chi2 p-value');
        expect(drift?.unseenRows).to.equal(c.unseenRows);
        expectClose(drift?.psi, c.psi, STAT_RTOL, 'psi');
      });
    }

    it('includes a case with a level the reference never saw', () => {
      expect(cases.some((c) => c.unseenRows > 0)).to.equal(true);
    });
  });

  describe('PSI on reference quantile bins (numpy)', () => {
    const { cases } = load<{ cases: PsiCase[] }>('psi.json');
    for (const c of cases) {
      it(`${c.name}: same edges, bin counts and PSI`, () => {
        const ref = sortedSample(c.reference);
        const cur = sortedSample(c.current);
        const { psi, edges } = numericPsi(ref, cur, c.bins, c.epsilon);
        expect(edges).to.deep.equal(c.edges);
        expect(Array.from(binCounts(ref, edges))).to.deep.equal(c.referenceCounts);
        expect(Array.from(binCounts(cur, edges))).to.deep.equal(c.currentCounts);
        expectClose(psi, c.psi, STAT_RTOL, 'psi');
      });
    }
  });

  describe('numeric profile (numpy / pandas)', () => {
    const { cases } = load<{
      cases: Array<{
        name: string;
        sample: SampleSpec;
        quantileLevels: number[];
        mean: number;
        std: number | null;
        min: number;
        max: number;
        quantiles: number[];
        distinct: number;
      }>;
    }>('profile.json');
    for (const c of cases) {
      it(`${c.name}: mean, std, min, max, quantiles, distinct`, () => {
        const sorted = sortedSample(c.sample);
        const p = profileNumeric(
          { kind: 'number', name: c.name, rows: sorted.length, missing: 0, nonFinite: 0, sorted },
          c.quantileLevels,
        );
        expectClose(p.mean, c.mean, 1e-12, 'mean');
        if (c.std === null) expect(p.std).to.equal(undefined);
        else expectClose(p.std, c.std, 1e-12, 'std');
        expect([p.min, p.max]).to.deep.equal([c.min, c.max]);
        expect(p.quantiles.map((q) => q.value)).to.deep.equal(c.quantiles);
        expect(p.distinct).to.equal(c.distinct);
      });
    }
  });

  describe('end to end through validateTable', () => {
    const ks = load<{ cases: KsCase[] }>('ks.json').cases;
    const psi = load<{ cases: PsiCase[] }>('psi.json').cases;

    it('reports the same KS and PSI for a column as scipy and numpy', () => {
      const c = psi.find((x) => x.name === 'shifted') as PsiCase;
      const ref = generateChecked(c.reference);
      const cur = generateChecked(c.current);
      const table = (values: Float64Array) => ({
        columns: [{ name: 'x', type: 'number' as const }],
        rows: values.length,
        values,
      });
      const report = validateTable({ table: table(cur), reference: table(ref), options: { psiBins: c.bins } });
      expect(report.drift).to.have.length(1);
      expectClose(report.drift[0].psi, c.psi, STAT_RTOL, 'psi');
      // ks2Samp is symmetric; compare against scipy on the same pair.
      const direct = ks2Samp(sortedSample(c.reference), sortedSample(c.current));
      expect(report.drift[0].ks).to.deep.equal(direct);
      const asymp = ks.find((x) => x.name === 'asymp-shifted') as KsCase;
      const a = generateChecked(asymp.a);
      const b = generateChecked(asymp.b);
      const r2 = validateTable({ table: table(b), reference: table(a) });
      expectClose(r2.drift[0].ks?.statistic, asymp.statistic, STAT_RTOL, 'statistic');
      expectClose(r2.drift[0].ks?.pValue, asymp.pvalue, P_RTOL, 'p-value');
    });
  });
});
