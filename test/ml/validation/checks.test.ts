import { expect } from 'chai';
import { Check } from '../../../ml/validation/check';
import { resolveOptions } from '../../../ml/validation/options';
import { ValidationReport } from '../../../ml/validation/report';
import { assembleReport, validateTable } from '../../../ml/validation/validate';
import { checksNamed, findCheck, makeTable, seq } from './tables';

/** Every number anywhere in the report is finite, and the report survives JSON unchanged. */
function expectFiniteJson(report: ValidationReport): void {
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'number') expect(Number.isFinite(v), `${at} = ${v}`).to.equal(true);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(report, '$');
  expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
}

const failed = (report: ValidationReport): Check[] => report.checks.filter((c) => !c.passed);

/** 100 clean rows: a distinct numeric column, a repeating numeric one, a categorical one and a balanced label. */
function clean(n = 100) {
  return makeTable([
    { name: 'a', values: seq(n) },
    { name: 'b', values: seq(n, (i) => ((i * 7) % 13) + 0.5) },
    { name: 'c', strings: seq(n).map((i) => ['x', 'y', 'z'][i % 3]) },
    { name: 'label', strings: seq(n).map((i) => (i % 2 ? 'p' : 'q')) },
  ]);
}

describe('ml/validation checks', () => {
  it('passes a clean table, reporting every check it ran', () => {
    const report = validateTable({ table: clean(), target: 'label' });
    expect(failed(report)).to.deep.equal([]);
    expect(report.summary).to.include({ ok: true, errors: 0, warnings: 0, rows: 100, columns: 4 });
    expect(report.summary.passed).to.equal(report.checks.length);
    expect(checksNamed(report, 'missing_rate')).to.have.length(4);
    expect(checksNamed(report, 'non_finite').map((c) => c.column)).to.deep.equal(['a', 'b']);
    expect(checksNamed(report, 'invalid_level').map((c) => c.column)).to.deep.equal(['c', 'label']);
    expect(checksNamed(report, 'constant_column')).to.have.length(4);
    for (const name of ['row_count', 'duplicate_rows', 'target_present', 'target_missing', 'target_classes'] as const) {
      expect(checksNamed(report, name), name).to.have.length(1);
    }
    expect(report.drift).to.deep.equal([]);
    expectFiniteJson(report);
  });

  it('reports every failure at once: one failing check never hides the next', () => {
    const table = makeTable([
      { name: 'a', values: [NaN, NaN, Infinity, 1, 1, 1] },
      { name: 'k', values: [7, 7, 7, 7, 7, 7] },
      { name: 'c', levels: ['x'], codes: [0, 0, 3, 0, 0, 0] },
    ]);
    const report = validateTable({
      table,
      schema: [
        { name: 'a', type: 'string' },
        { name: 'gone', type: 'number' },
      ],
      target: 'nope',
    });
    const names = failed(report).map((c) => `${c.name}:${c.column ?? ''}`);
    expect(names).to.include.members([
      'column_type:a',
      'column_present:gone',
      'unexpected_column:k',
      'unexpected_column:c',
      'missing_rate:a',
      'non_finite:a',
      'invalid_level:c',
      'constant_column:a',
      'constant_column:k',
      'constant_column:c',
      'duplicate_rows:',
      'target_present:nope',
    ]);
    expect(report.summary.ok).to.equal(false);
    expect(report.summary.errors + report.summary.warnings).to.equal(names.length);
    expectFiniteJson(report);
  });

  describe('schema', () => {
    it('checks presence and type of each expected column and flags unexpected ones', () => {
      const report = validateTable({
        table: clean(),
        schema: [
          { name: 'a', type: 'number' },
          { name: 'b', type: 'string' },
          { name: 'missing', type: 'number' },
          { name: 'c', type: 'string' },
        ],
      });
      expect(findCheck(report, 'column_present', 'a').passed).to.equal(true);
      expect(findCheck(report, 'column_type', 'a').passed).to.equal(true);
      expect(findCheck(report, 'column_type', 'b')).to.deep.include({
        observed: 'number',
        expected: 'string',
        passed: false,
        severity: 'error',
      });
      expect(findCheck(report, 'column_present', 'missing')).to.deep.include({ passed: false, severity: 'error' });
      expect(checksNamed(report, 'column_type').map((c) => c.column)).to.not.include('missing');
      expect(findCheck(report, 'unexpected_column', 'label')).to.deep.include({ passed: false, severity: 'warn' });
      expect(checksNamed(report, 'unexpected_column')).to.have.length(1);
    });

    it('takes the expected schema from the reference when none is given', () => {
      const reference = makeTable([
        { name: 'a', values: seq(10) },
        { name: 'c', values: seq(10) },
      ]);
      const report = validateTable({ table: clean(), reference });
      expect(findCheck(report, 'column_type', 'c')).to.deep.include({ observed: 'string', expected: 'number' });
      expect(findCheck(report, 'unexpected_column', 'b').passed).to.equal(false);
      expect(findCheck(report, 'column_present', 'a').passed).to.equal(true);
    });
  });

  describe('row count', () => {
    it('fails an empty table by default and a table above maxRows', () => {
      const empty = validateTable({ table: makeTable([{ name: 'a', values: [] }]) });
      expect(findCheck(empty, 'row_count')).to.deep.include({ observed: 0, passed: false, severity: 'error' });
      expectFiniteJson(empty);
      const big = validateTable({ table: clean(), options: { maxRows: 50 } });
      expect(findCheck(big, 'row_count')).to.deep.include({ observed: 100, passed: false });
      expect(findCheck(big, 'row_count').expected).to.deep.equal({ min: 1, max: 50 });
      const ok = validateTable({ table: makeTable([{ name: 'a', values: [] }]), options: { minRows: 0 } });
      expect(findCheck(ok, 'row_count').passed).to.equal(true);
    });
  });

  describe('per-column quality', () => {
    it('missing_rate fails above maxMissingRate (NaN in numeric, null in categorical)', () => {
      const table = makeTable([
        { name: 'ten', values: seq(100, (i) => (i < 10 ? NaN : i)) },
        { name: 'five', values: seq(100, (i) => (i < 5 ? NaN : i)) },
        { name: 'cat', strings: seq(100, (i) => i).map((i) => (i < 6 ? null : String(i % 4))) },
      ]);
      const report = validateTable({ table });
      expect(findCheck(report, 'missing_rate', 'ten')).to.deep.include({
        observed: { missing: 10, rate: 0.1 },
        passed: false,
        severity: 'warn',
      });
      expect(findCheck(report, 'missing_rate', 'five').passed).to.equal(true);
      expect(findCheck(report, 'missing_rate', 'cat').passed).to.equal(false);
      expect(report.profile[0]).to.include({ count: 90, missing: 10 });
      const lenient = validateTable({ table, options: { maxMissingRate: 0.1 } });
      expect(findCheck(lenient, 'missing_rate', 'ten').passed).to.equal(true);
    });

    it('non_finite counts ±Infinity and keeps them out of the profile', () => {
      const report = validateTable({ table: makeTable([{ name: 'x', values: [1, Infinity, 2, -Infinity, 3] }]) });
      expect(findCheck(report, 'non_finite', 'x')).to.deep.include({
        observed: { count: 2, rate: 0.4 },
        passed: false,
        severity: 'error',
      });
      expect(report.profile[0]).to.include({ count: 3, nonFinite: 2, min: 1, max: 3, mean: 2, std: 1 });
      expectFiniteJson(report);
    });

    it('invalid_level counts cells that are not a level index', () => {
      const table = makeTable([{ name: 'c', levels: ['x', 'y'], codes: [0, 1, 5, 0.5, -1, NaN, 1] }]);
      const report = validateTable({ table });
      expect(findCheck(report, 'invalid_level', 'c')).to.deep.include({ passed: false, severity: 'error' });
      expect((findCheck(report, 'invalid_level', 'c').observed as { count: number }).count).to.equal(3);
      expect(report.profile[0]).to.deep.include({ count: 3, missing: 1, invalid: 3, distinct: 2 });
    });

    it('constant_column fails with fewer than two distinct values', () => {
      const table = makeTable([
        { name: 'k', values: [3, 3, 3, 3] },
        { name: 'kNan', values: [3, NaN, 3, NaN] },
        { name: 'two', values: [3, 4, 3, 3] },
        { name: 'catK', strings: ['a', 'a', 'a', 'a'] },
        { name: 'none', values: [NaN, NaN, NaN, NaN] },
      ]);
      const report = validateTable({ table });
      expect(findCheck(report, 'constant_column', 'k')).to.deep.include({ observed: { distinct: 1 }, passed: false });
      expect(findCheck(report, 'constant_column', 'kNan').passed).to.equal(false);
      expect(findCheck(report, 'constant_column', 'two').passed).to.equal(true);
      expect(findCheck(report, 'constant_column', 'catK').passed).to.equal(false);
      expect(findCheck(report, 'constant_column', 'none')).to.deep.include({
        observed: { distinct: 0 },
        passed: false,
      });
      expect(report.profile[4]).to.deep.equal({
        column: 'none',
        type: 'number',
        rows: 4,
        count: 0,
        missing: 4,
        nonFinite: 0,
        distinct: 0,
        quantiles: [],
      });
      expectFiniteJson(report);
    });
  });

  describe('duplicate rows', () => {
    it('counts rows equal to an earlier row; -0 equals 0 and missing equals missing', () => {
      const table = makeTable([
        { name: 'a', values: [1, 1, 0, -0, NaN, NaN, 5, 6, 7, 8] },
        { name: 'c', strings: ['x', 'x', 'y', 'y', 'z', 'z', 'x', 'y', 'z', 'x'] },
      ]);
      const report = validateTable({ table });
      expect(findCheck(report, 'duplicate_rows')).to.deep.include({
        observed: { duplicates: 3, rate: 0.3 },
        passed: false,
        severity: 'warn',
      });
      expect(findCheck(validateTable({ table, options: { maxDuplicateRate: 0.3 } }), 'duplicate_rows').passed).to.equal(
        true,
      );
      expect(findCheck(validateTable({ table: clean() }), 'duplicate_rows').observed).to.deep.equal({
        duplicates: 0,
        rate: 0,
      });
    });

    it('does not count rows that differ in one cell', () => {
      const table = makeTable([
        { name: 'a', values: seq(1000, (i) => i % 10) },
        { name: 'b', values: seq(1000, (i) => Math.floor(i / 10)) },
      ]);
      expect(findCheck(validateTable({ table }), 'duplicate_rows').observed).to.deep.equal({ duplicates: 0, rate: 0 });
    });
  });

  describe('ranges and levels', () => {
    it('numeric_range uses a given range', () => {
      const report = validateTable({ table: clean(), ranges: { a: { min: 10, max: 89 } } });
      expect(findCheck(report, 'numeric_range', 'a')).to.deep.include({
        observed: { min: 0, max: 99, below: 10, above: 10, rate: 0.2 },
        expected: { min: 10, max: 89, source: 'given', maxRate: 0 },
        passed: false,
        severity: 'warn',
      });
      const ok = validateTable({ table: clean(), ranges: { a: { min: 0 } } });
      expect(findCheck(ok, 'numeric_range', 'a').passed).to.equal(true);
      expect(checksNamed(ok, 'numeric_range')).to.have.length(1); // b has neither a range nor a reference
    });

    it("numeric_range widens the reference's [min, max] by rangeMargin of the range", () => {
      const reference = makeTable([{ name: 'x', values: seq(101) }]); // [0, 100] -> [-10, 110]
      const inside = validateTable({ table: makeTable([{ name: 'x', values: [-10, 50, 110] }]), reference });
      expect(findCheck(inside, 'numeric_range', 'x')).to.deep.include({ passed: true });
      expect(findCheck(inside, 'numeric_range', 'x').expected).to.include({ min: -10, max: 110, source: 'reference' });
      const outside = validateTable({ table: makeTable([{ name: 'x', values: [-10.5, 50, 111] }]), reference });
      expect(findCheck(outside, 'numeric_range', 'x').observed).to.include({ below: 1, above: 1 });
      expect(findCheck(outside, 'numeric_range', 'x').passed).to.equal(false);
      const constant = validateTable({
        table: makeTable([{ name: 'x', values: [5, 5.4, 5.6] }]),
        reference: makeTable([{ name: 'x', values: [5, 5, 5] }]),
      });
      expect(findCheck(constant, 'numeric_range', 'x').expected).to.include({ min: 4.5, max: 5.5 });
      expect(findCheck(constant, 'numeric_range', 'x').observed).to.include({ above: 1 });
    });

    it('unseen_levels flags levels the reference never holds, matched by name', () => {
      const reference = makeTable([{ name: 'c', levels: ['x', 'y', 'z', 'w'], codes: [0, 1, 2, 0, 1, 2] }]);
      const table = makeTable([{ name: 'c', strings: ['z', 'x', 'w', 'v', 'w', 'x'] }]);
      const report = validateTable({ table, reference });
      expect(findCheck(report, 'unseen_levels', 'c')).to.deep.include({
        observed: { levels: ['w', 'v'], distinct: 2, rows: 3, rate: 0.5 },
        passed: false,
      });
      const given = validateTable({ table, reference, levels: { c: ['x', 'z', 'w', 'v'] } });
      expect(findCheck(given, 'unseen_levels', 'c')).to.deep.include({ passed: true });
      const same = validateTable({ table: makeTable([{ name: 'c', strings: ['z', 'x'] }]), reference });
      expect(findCheck(same, 'unseen_levels', 'c').passed).to.equal(true);
    });
  });

  describe('target', () => {
    it('target_present fails when the column is absent, and nothing else about the target is claimed', () => {
      const report = validateTable({ table: clean(), target: 'y' });
      expect(findCheck(report, 'target_present', 'y')).to.deep.include({ passed: false, severity: 'error' });
      expect(checksNamed(report, 'target_missing')).to.deep.equal([]);
    });

    it('target_missing fails when some rows have no label', () => {
      const table = makeTable([
        { name: 'x', values: seq(6) },
        { name: 'y', strings: ['a', 'b', null, 'a', 'b', 'a'] },
      ]);
      const report = validateTable({ table, target: 'y' });
      expect(findCheck(report, 'target_missing', 'y')).to.deep.include({
        observed: { rows: 1, rate: 1 / 6 },
        passed: false,
      });
    });

    it('target_classes and target_min_class_share for classification', () => {
      const single = validateTable({
        table: makeTable([
          { name: 'x', values: seq(4) },
          { name: 'y', strings: ['a', 'a', 'a', 'a'] },
        ]),
        target: 'y',
      });
      expect(findCheck(single, 'target_classes', 'y')).to.deep.include({
        observed: 1,
        passed: false,
        severity: 'error',
      });
      const rare = validateTable({
        table: makeTable([
          { name: 'x', values: seq(200) },
          { name: 'y', strings: seq(200).map((i) => (i === 0 ? 'rare' : i % 2 ? 'a' : 'b')) },
        ]),
        target: 'y',
      });
      expect(findCheck(rare, 'target_classes', 'y').passed).to.equal(true);
      expect(findCheck(rare, 'target_min_class_share', 'y')).to.deep.include({
        observed: { class: 'rare', count: 1, share: 0.005 },
        passed: false,
        severity: 'warn',
      });
      const tooMany = validateTable({
        table: clean(),
        target: 'a',
        task: 'classification',
        options: { maxClasses: 50 },
      });
      expect(findCheck(tooMany, 'target_classes', 'a')).to.deep.include({ observed: 100, passed: false });
    });

    it('a numeric target is regression unless told otherwise; labels count as classes when it is classification', () => {
      const table = makeTable([
        { name: 'x', values: seq(10) },
        { name: 'y', values: [0, 1, 0, 1, 0, 1, 0, 1, 0, NaN] },
      ]);
      const regression = validateTable({ table, target: 'y' });
      expect(checksNamed(regression, 'target_classes')).to.deep.equal([]);
      expect(findCheck(regression, 'target_missing', 'y').passed).to.equal(false);
      const classification = validateTable({ table, target: 'y', task: 'classification' });
      expect(findCheck(classification, 'target_classes', 'y')).to.deep.include({ observed: 2, passed: true });
      expect(findCheck(classification, 'target_min_class_share', 'y').observed).to.deep.equal({
        class: '1',
        count: 4,
        share: 4 / 9,
      });
    });

    it('the target is left out of drift', () => {
      const report = validateTable({ table: clean(), reference: clean(), target: 'label' });
      expect(report.drift.map((d) => d.column)).to.deep.equal(['a', 'b', 'c']);
      expect(checksNamed(report, 'drift').map((c) => c.column)).to.deep.equal(['a', 'b', 'c']);
    });
  });

  describe('drift', () => {
    const reference = makeTable([
      { name: 'moved', values: seq(500) },
      { name: 'still', values: seq(500, (i) => (i * 37) % 101) },
      { name: 'cat', strings: seq(500).map((i) => ['x', 'y', 'z'][i % 3]) },
    ]);

    it('flags a shifted feature and passes unchanged ones; dataset_drift compares the drifted share', () => {
      const table = makeTable([
        { name: 'moved', values: seq(500, (i) => i + 250) },
        { name: 'still', values: seq(500, (i) => (i * 37) % 101) },
        { name: 'cat', strings: seq(500).map((i) => ['x', 'y', 'z'][(i * 7) % 3]) },
      ]);
      const report = validateTable({ table, reference });
      const [moved, still, cat] = report.drift;
      expect(moved).to.include({ column: 'moved', band: 'significant', drifted: true });
      expect(moved.ks).to.deep.include({ statistic: 0.5, method: 'exact' });
      expect(moved.ks?.pValue).to.be.below(1e-50);
      expect(still).to.include({ psi: 0, band: 'none', drifted: false });
      expect(still.ks).to.deep.include({ statistic: 0, pValue: 1 });
      expect(cat).to.include({ type: 'string', band: 'none', drifted: false, unseenRows: 0 });
      expect(cat.chi2?.dof).to.equal(2);
      expect(findCheck(report, 'drift', 'moved')).to.deep.include({ passed: false, severity: 'warn' });
      expect(findCheck(report, 'drift', 'still').passed).to.equal(true);
      expect(findCheck(report, 'dataset_drift')).to.deep.include({
        observed: { driftShare: 1 / 3, drifted: ['moved'], features: 3 },
        passed: true,
      });
      expect(report.summary).to.include({ driftShare: 1 / 3, comparedFeatures: 3 });
      expect(report.summary.driftedFeatures).to.deep.equal(['moved']);
      const strict = validateTable({ table, reference, options: { maxDriftShare: 0.3 } });
      expect(findCheck(strict, 'dataset_drift')).to.deep.include({ passed: false, severity: 'error' });
      expectFiniteJson(report);
    });

    it('needs both a PSI band of at least moderate and a significant test', () => {
      const table = makeTable([
        { name: 'moved', values: seq(500, (i) => i + 250) },
        { name: 'still', values: seq(500, (i) => (i * 37) % 101) },
        { name: 'cat', strings: seq(500).map((i) => ['x', 'y', 'z'][i % 3]) },
      ]);
      const noTest = validateTable({ table, reference, options: { driftPValue: 0 } });
      expect(noTest.drift.map((d) => d.drifted)).to.deep.equal([false, false, false]);
      const small = validateTable({
        table: makeTable([{ name: 'v', values: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5] }]),
        reference: makeTable([{ name: 'v', values: [0, 1, 2, 3, 4, 5, 6, 7] }]),
      });
      expect(small.drift[0].psi).to.be.above(0.25); // eight values: PSI is noise
      expect(small.drift[0].ks?.pValue).to.be.above(0.05);
      expect(small.drift[0].drifted).to.equal(false);
    });

    it('tests categorical drift with chi-square and counts unseen levels apart', () => {
      const table = makeTable([{ name: 'cat', strings: seq(300).map((i) => (i < 60 ? 'new' : i % 2 ? 'x' : 'y')) }]);
      const report = validateTable({
        table,
        reference: makeTable([{ name: 'cat', strings: seq(300).map((i) => ['x', 'y', 'z'][i % 3]) }]),
      });
      const d = report.drift[0];
      expect(d).to.include({ unseenRows: 60, band: 'significant', drifted: true });
      expect(d.chi2?.dof).to.equal(2);
      expect(d.chi2?.statistic).to.be.closeTo(120, 1e-9); // observed 120, 120, 0 vs expected 80 each
      expect(findCheck(report, 'unseen_levels', 'cat').passed).to.equal(false);
    });

    it('reports a failed drift check when a side has no usable value', () => {
      const report = validateTable({
        table: makeTable([{ name: 'moved', values: [NaN, NaN, NaN] }]),
        reference,
      });
      expect(findCheck(report, 'drift', 'moved')).to.deep.include({
        observed: { reason: 'no usable values to compare', referenceCount: 500, currentCount: 0 },
        passed: false,
      });
      expect(report.drift).to.deep.equal([]);
      expect(findCheck(report, 'dataset_drift').passed).to.equal(true);
    });
  });

  describe('holdout overlap', () => {
    const train = makeTable([
      { name: 'a', values: [1, 2, 3, 4] },
      { name: 'c', strings: ['x', 'y', 'z', 'x'] },
    ]);

    it('counts holdout rows that also occur in the training table, levels matched by name', () => {
      // The holdout numbers its levels differently: z = 0, x = 1.
      const holdout = makeTable([
        { name: 'c', levels: ['z', 'x', 'q'], codes: [0, 1, 1, 2] },
        { name: 'a', values: [3, 1, 2, 4] },
        { name: 'extra', values: [9, 9, 9, 9] },
      ]);
      const report = validateTable({ table: train, holdout });
      expect(findCheck(report, 'holdout_overlap')).to.deep.include({
        observed: { overlappingRows: 2, rate: 0.5, comparedColumns: 2 },
        passed: false,
        severity: 'error',
      });
      const disjoint = makeTable([
        { name: 'a', values: [5, 6] },
        { name: 'c', strings: ['x', 'y'] },
      ]);
      expect(findCheck(validateTable({ table: train, holdout: disjoint }), 'holdout_overlap').passed).to.equal(true);
    });

    it('fails when the tables share no column', () => {
      const report = validateTable({ table: train, holdout: makeTable([{ name: 'other', values: [1] }]) });
      expect(findCheck(report, 'holdout_overlap')).to.deep.include({ passed: false });
      expect(findCheck(report, 'holdout_overlap').observed).to.deep.equal({
        reason: 'no column in common',
        comparedColumns: 0,
      });
    });
  });

  describe('holdout classes unseen in training', () => {
    const train = makeTable([
      { name: 'a', values: [1, 2, 3, 4] },
      { name: 'label', strings: ['x', 'y', 'x', 'y'] },
    ]);

    it('fails (error) naming holdout target classes the training table lacks, matched by name', () => {
      // The holdout numbers its levels differently (y = 0) and holds z, a class training never saw, on 2 rows.
      const holdout = makeTable([
        { name: 'a', values: [5, 6, 7, 8] },
        { name: 'label', levels: ['y', 'z', 'x'], codes: [0, 1, 1, 2] },
      ]);
      const report = validateTable({ table: train, holdout, target: 'label' });
      expect(findCheck(report, 'holdout_unseen_target', 'label')).to.deep.equal({
        name: 'holdout_unseen_target',
        column: 'label',
        severity: 'error',
        observed: { classes: ['z'], distinct: 1, rows: 2 },
        expected: { trainingClasses: 2, maxUnseen: 0 },
        passed: false,
      });
      const same = makeTable([
        { name: 'a', values: [5, 6] },
        { name: 'label', strings: ['y', 'x'] },
      ]);
      expect(
        findCheck(validateTable({ table: train, holdout: same, target: 'label' }), 'holdout_unseen_target', 'label'),
      ).to.deep.include({ passed: true, observed: { classes: [], distinct: 0, rows: 0 } });
    });

    it('compares numeric classes by value; regression targets and runs without a holdout have no such check', () => {
      const numeric = makeTable([{ name: 'k', values: [0, 1, 0, 1] }]);
      const holdout = makeTable([{ name: 'k', values: [1, 2, 2] }]);
      const report = validateTable({ table: numeric, holdout, target: 'k', task: 'classification' });
      expect(findCheck(report, 'holdout_unseen_target', 'k').observed).to.deep.equal({
        classes: ['2'],
        distinct: 1,
        rows: 2,
      });
      const regression = validateTable({ table: numeric, holdout, target: 'k', task: 'regression' });
      expect(regression.checks.some((c) => c.name === 'holdout_unseen_target')).to.equal(false);
      expect(validateTable({ table: train, target: 'label' }).checks.map((c) => c.name)).to.not.include(
        'holdout_unseen_target',
      );
    });
  });

  describe('finite results', () => {
    it('keeps every number finite for values near the limits of float64', () => {
      const huge = [-1.7e308, 1.7e308, 1.6e308, -1.6e308, 0];
      const report = validateTable({
        table: makeTable([{ name: 'h', values: huge }]),
        reference: makeTable([{ name: 'h', values: [...huge].reverse() }]),
      });
      expect(checksNamed(report, 'non_finite_result')).to.deep.equal([]);
      expect(report.profile[0]).to.include({ min: -1.7e308, max: 1.7e308 });
      expect((report.profile[0] as { mean: number }).mean).to.be.closeTo(0, 1e293);
      expectFiniteJson(report);
    });

    it('turns a non-finite number that slipped through into null and a failed non_finite_result check', () => {
      const options = resolveOptions();
      const report = assembleReport(
        [],
        [],
        [{ column: 'x', type: 'number', referenceCount: 1, currentCount: 1, psi: NaN, band: 'none', drifted: false }],
        makeTable([{ name: 'x', values: [1] }]),
        options,
      );
      expect(report.drift[0].psi).to.equal(null);
      expect(findCheck(report, 'non_finite_result')).to.deep.include({
        observed: { count: 1, paths: ['$.drift[0].psi'] },
        passed: false,
        severity: 'error',
      });
      expect(report.summary).to.include({ errors: 1, ok: false });
    });
  });

  describe('options and request', () => {
    it('severities can be overridden per check', () => {
      const table = makeTable([{ name: 'a', values: [1, 1, 2] }]);
      expect(validateTable({ table }).summary).to.include({ errors: 0, warnings: 1 });
      const strict = validateTable({ table, options: { severities: { duplicate_rows: 'error' } } });
      expect(strict.summary).to.include({ errors: 1, warnings: 0, ok: false });
    });

    it('refuses malformed tables, ranges and levels', () => {
      const bad = { columns: [{ name: 'a', type: 'number' as const }], rows: 3, values: new Float64Array(2) };
      expect(() => validateTable({ table: bad })).to.throw(RangeError, /2 cells for 3 rows/);
      expect(() => validateTable({ table: clean(), ranges: { a: { min: 2, max: 1 } } })).to.throw(
        RangeError,
        /min > max/,
      );
      expect(() => validateTable({ table: clean(), ranges: { a: { max: Infinity } } })).to.throw(RangeError, /finite/);
      expect(() => validateTable({ table: clean(), levels: { c: [1] as unknown as string[] } })).to.throw(RangeError);
      expect(() => validateTable({ table: clean(), options: { psiBins: 1 } })).to.throw(RangeError, /psiBins/);
    });

    it('ignores inherited names in ranges and levels', () => {
      const table = makeTable([{ name: 'constructor', values: [1, 2, 3] }]);
      expect(checksNamed(validateTable({ table, ranges: {} }), 'numeric_range')).to.deep.equal([]);
    });
  });
});
