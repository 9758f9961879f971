import { DomainError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { errorBody, httpStatusOf } from '../../api/middleware/error-handler';
import { DatasetLimits, DEFAULT_LIMITS } from '../../datasets/limits';
import { CSV_FIELDS, keyPath, parseTextNumber, TableBuilder } from '../../datasets/table-builder';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected an error, but none was thrown');
}

function build(rows: unknown[], limits: Partial<DatasetLimits> = {}): ReturnType<TableBuilder['finish']> {
  const b = new TableBuilder({ ...DEFAULT_LIMITS, ...limits });
  rows.forEach((row, i) => b.addRow(row, i));
  return b.finish();
}

function expect400(fn: () => unknown, field: string, message?: RegExp): DomainError {
  const err = thrown(fn);
  expect(err).to.be.instanceOf(ValidationError);
  expect(httpStatusOf(err)).to.equal(400);
  expect(err.field).to.equal(field);
  if (message) expect(err.message).to.match(message);
  return err;
}

function expect413(fn: () => unknown, field: string, message: RegExp): DomainError {
  const err = thrown(fn);
  expect(err).to.be.instanceOf(PayloadTooLargeError);
  expect(httpStatusOf(err)).to.equal(413);
  expect(err.field).to.equal(field);
  expect(err.message).to.match(message);
  return err;
}

describe('datasets/table-builder', () => {
  describe('JSON rows', () => {
    it('names array columns x0, x1, ... and infers types; strings become level indexes', () => {
      const t = build([
        [1, 'a', -2.5],
        [3, 'b', 0],
        [5, 'a', 1e-3],
      ]);
      expect(t.columns).to.deep.equal([
        { name: 'x0', type: 'number' },
        { name: 'x1', type: 'string', levels: ['a', 'b'] },
        { name: 'x2', type: 'number' },
      ]);
      expect(t.rows).to.equal(3);
      expect(Array.from(t.values)).to.deep.equal([1, 0, -2.5, 3, 1, 0, 5, 0, 1e-3]);
    });

    it('takes object columns from the first row; later rows may order keys differently', () => {
      const t = build([
        { h: 1.5, sp: 'x' },
        { sp: 'y', h: 2 },
      ]);
      expect(t.columns.map((c) => c.name)).to.deep.equal(['h', 'sp']);
      expect(Array.from(t.values)).to.deep.equal([1.5, 0, 2, 1]);
    });

    it('stores -0 as 0', () => {
      expect(Object.is(build([[-0]]).values[0], 0)).to.equal(true);
    });

    it('refuses a ragged row, naming it', () => {
      expect400(() => build([[1, 2], [3, 4], [5]]), 'data[2]', /data\[2\] has 1 cell but the table has 2 columns/);
    });

    it('refuses a column mixing numbers and strings, naming the column', () => {
      const err = expect400(
        () =>
          build([
            [1, 'a'],
            [2, 3],
          ]),
        'column "x1"',
      );
      expect(err.message).to.contain('data[0][1] is a string').and.contain('data[1][1] is the number 3');
      expect400(() => build([{ a: 1 }, { a: 'one' }]), 'column "a"', /mixes numbers and strings/);
    });

    for (const [value, shown] of [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      it(`refuses ${shown}, naming the cell`, () => {
        expect400(
          () =>
            build([
              [1, 2],
              [3, value],
            ]),
          'data[1][1]',
          /finite/,
        );
        expect400(
          () =>
            build([
              { a: 1, h: 2 },
              { a: 3, h: value },
            ]),
          'data[1].h',
          /finite/,
        );
      });
    }

    for (const [value, what] of [
      [null, 'null'],
      [true, 'boolean'],
      [{}, 'an object'],
      [[1], 'an array'],
    ] as const) {
      it(`refuses a cell that is ${what}, naming it`, () => {
        expect400(
          () =>
            build([
              [1, 2],
              [value, 3],
            ]),
          'data[1][0]',
          /must be a number or a string/,
        );
        expect400(() => build([{ 'body mass': value }]), 'data[0]["body mass"]', /must be a number or a string/);
      });
    }

    it('refuses a row that is neither an array nor an object', () => {
      expect400(() => build([[1], 7]), 'data[1]', /must be an array of cells or an object/);
      expect400(() => build([null]), 'data[0]', /is null/);
    });

    it('refuses mixing array rows and object rows', () => {
      expect400(() => build([[1], { x0: 1 }]), 'data[1]', /same form/);
      expect400(() => build([{ x0: 1 }, [1]]), 'data[1]', /same form/);
    });

    it('refuses an object row with a missing key, naming the row and key', () => {
      expect400(() => build([{ a: 1, b: 2 }, { a: 1 }]), 'data[1].b', /data\[1\] has no key "b"/);
    });

    it('refuses an object row with an extra key, naming the row and key', () => {
      expect400(() => build([{ a: 1 }, { a: 1, zz: 2 }]), 'data[1].zz', /unexpected key "zz"/);
    });

    it('refuses zero columns and empty column names', () => {
      expect400(() => build([[]]), 'data[0]', /at least one column/);
      expect400(() => build([{}]), 'data[0]', /at least one column/);
      expect400(() => build([{ '': 1 }]), 'data[0][""]', /must not be empty/);
    });

    it('refuses an empty table', () => {
      expect400(() => build([]), 'data', /no rows/);
    });
  });

  describe('limits', () => {
    it('stops at the first row past maxRows', () => {
      const b = new TableBuilder({ ...DEFAULT_LIMITS, maxRows: 3 });
      for (let i = 0; i < 3; i++) b.addRow([i], i);
      expect413(() => b.addRow([3], 3), 'data[3]', /limit of 3 rows/);
    });

    it('refuses more than maxColumns at the first row', () => {
      expect413(
        () => build([[1, 2, 3, 4, 5]], { maxColumns: 4 }),
        'data[0]',
        /too many columns.*5 columns.*limit of 4/,
      );
    });

    it('stops at the first row past maxCells', () => {
      const b = new TableBuilder({ ...DEFAULT_LIMITS, maxCells: 10 });
      for (let i = 0; i < 3; i++) b.addRow([i, i, i], i);
      expect413(() => b.addRow([1, 2, 3], 3), 'data[3]', /4 rows × 3 columns is more than the limit of 10 cells/);
    });

    it('says whether one more row fits, and checkRoomForRow throws what adding it would', () => {
      const rows = new TableBuilder({ ...DEFAULT_LIMITS, maxRows: 2 });
      rows.addRow([1, 2], 0);
      expect(rows.hasRoomForRow()).to.equal(true);
      rows.checkRoomForRow(1);
      rows.addRow([3, 4], 1);
      expect(rows.hasRoomForRow()).to.equal(false);
      expect413(() => rows.checkRoomForRow(7), 'data[7]', /limit of 2 rows/);
      expect(rows.rowCount).to.equal(2);

      const cells = new TableBuilder({ ...DEFAULT_LIMITS, maxCells: 5 });
      cells.addRow([1, 2], 0);
      cells.addRow([1, 2], 1);
      expect(cells.hasRoomForRow()).to.equal(false);
      expect413(() => cells.checkRoomForRow(2), 'data[2]', /3 rows × 2 columns is more than the limit of 5 cells/);
    });

    it('stops at the first new string past maxLevels, naming the column', () => {
      const b = new TableBuilder({ ...DEFAULT_LIMITS, maxLevels: 2 });
      b.addRow(['a', 1], 0);
      b.addRow(['b', 1], 1);
      b.addRow(['a', 1], 2);
      expect413(() => b.addRow(['c', 1], 3), 'column "x0"', /limit of 2 distinct strings/);
    });

    it('grows its storage geometrically instead of allocating maxCells up front', () => {
      const b = new TableBuilder({ ...DEFAULT_LIMITS, maxCells: 1e9, maxRows: 1e9 });
      const capacity = (): number => (b as unknown as { data: Float64Array }).data.length;
      b.addRow([1, 2], 0);
      expect(capacity()).to.be.at.most(4096);
      for (let i = 1; i < 100_000; i++) b.addRow([i, -i], i);
      expect(capacity()).to.be.at.most(2 * 200_000);
      const t = b.finish();
      expect(t.values.length).to.equal(200_000);
      expect(t.values[2 * 99_999]).to.equal(99_999);
      expect(t.values[2 * 99_999 + 1]).to.equal(-99_999);
    });
  });

  describe('text cells (CSV)', () => {
    function textTable(rows: string[][]): ReturnType<TableBuilder['finish']> {
      const b = new TableBuilder(DEFAULT_LIMITS, { namer: CSV_FIELDS, field: 'body' });
      b.setColumnNames(rows[0], 'header');
      rows.slice(1).forEach((row, i) => b.addTextRow(row, i + 2));
      return b.finish();
    }

    it('reads standard decimal and exponent syntax, trimmed, as numbers', () => {
      const cells = ['12', ' -0.5 ', '+.5e-3', '5.', '1E3', '007', '-0'];
      const expected = [12, -0.5, 0.0005, 5, 1000, 7, 0];
      cells.forEach((cell, i) => expect(parseTextNumber(cell.trim()), cell).to.equal(expected[i]));
      const t = textTable([['a'], ...cells.map((c) => [c])]);
      expect(t.columns[0].type).to.equal('number');
      expect(Array.from(t.values)).to.deep.equal(expected);
    });

    it('reads anything else as a string, kept as is', () => {
      for (const cell of ['abc', '0x1F', '0b11', '0o7', '1_000', '1e', '.', '-', 'e5', '12abc', 'Inf1']) {
        expect(parseTextNumber(cell), cell).to.be.NaN;
      }
      const t = textTable([['s'], ['0x1F'], [' a b '], ['0x1F']]);
      expect(t.columns[0]).to.deep.equal({ name: 's', type: 'string', levels: ['0x1F', ' a b '] });
      expect(Array.from(t.values)).to.deep.equal([0, 1, 0]);
    });

    it('parses numbers exactly as Number() / JSON.parse do (randomised)', () => {
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const digits = (n: number): string => Array.from({ length: n }, () => String(rand(10))).join('');
      for (let k = 0; k < 20_000; k++) {
        const int = digits(rand(19));
        const frac = rand(3) === 0 ? '' : `.${digits(rand(19))}`;
        if (int === '' && (frac === '' || frac === '.')) continue;
        const exp =
          rand(3) === 0
            ? `${rand(2) ? 'e' : 'E'}${['', '+', '-'][rand(3)]}${rand(4) === 0 ? rand(400) : rand(30)}`
            : '';
        const cell = `${['', '-', '+'][rand(3)]}${int}${frac}${exp}`;
        expect(Object.is(parseTextNumber(cell), Number(cell)), cell).to.equal(true);
      }
    });

    it('addUnquotedLine gives the same table as addTextRow(line.split(","))', () => {
      const limits = { ...DEFAULT_LIMITS };
      const viaSplit = new TableBuilder(limits, { namer: CSV_FIELDS });
      const inPlace = new TableBuilder(limits, { namer: CSV_FIELDS });
      viaSplit.setColumnNames(['a', 'b', 'c']);
      inPlace.setColumnNames(['a', 'b', 'c']);
      const good = [
        '1,2.5,a',
        ' 3 ,-4e2,b',
        '-0,+.5,c d',
        '1e-400,7.,x',
        '12345678901234567890,1e22,y',
        '0.1,1e23, 0x1F ',
      ];
      good.forEach((line, i) => {
        viaSplit.addTextRow(line.split(','), i + 2);
        inPlace.addUnquotedLine(line, i + 2);
      });
      expect(inPlace.finish()).to.deep.equal(viaSplit.finish());
      for (const line of ['0x1F,5,x', '1,5,', '1, ,x', '1,inf,x', '1,1e999,x', '1,2,3']) {
        const a = new TableBuilder(limits, { namer: CSV_FIELDS });
        const b = new TableBuilder(limits, { namer: CSV_FIELDS });
        a.addTextRow(['1', '2', 'x'], 2);
        b.addTextRow(['1', '2', 'x'], 2);
        const viaSplitError = thrown(() => a.addTextRow(line.split(','), 3));
        const inPlaceError = thrown(() => b.addUnquotedLine(line, 3));
        expect(errorBody(inPlaceError), line).to.deep.equal(errorBody(viaSplitError));
      }
      const ragged = new TableBuilder(limits, { namer: CSV_FIELDS });
      ragged.addTextRow(['1', '2'], 2);
      expect(thrown(() => ragged.addUnquotedLine('1', 3)).message).to.match(/row 3 has 1 cell/);
      expect(thrown(() => ragged.addUnquotedLine('1,2,3,4', 4)).message).to.match(/row 4 has 4 cells/);
    });

    for (const cell of ['NaN', 'nan', 'Infinity', '-Infinity', '+inf', 'inf', 'INF', '1e999', '-1e400', ' Infinity ']) {
      it(`refuses ${JSON.stringify(cell)} as a non-finite number, naming the cell`, () => {
        expect400(
          () =>
            textTable([
              ['a', 'b'],
              ['1', cell],
            ]),
          'row 2, column "b"',
          /not a finite number/,
        );
      });
    }

    for (const cell of ['', '   ', '\t']) {
      it(`refuses the empty cell ${JSON.stringify(cell)} as a missing value`, () => {
        expect400(
          () =>
            textTable([
              ['a', 'b'],
              ['1', '2'],
              [cell, '3'],
            ]),
          'row 3, column "a"',
          /empty; missing values/,
        );
      });
    }

    it('refuses a text column mixing numbers and strings', () => {
      expect400(
        () => textTable([['a'], ['1'], ['2'], ['n/a']]),
        'column "a"',
        /row 2, column "a" is a number but row 4, column "a" is the string "n\/a"/,
      );
    });

    it('refuses bad header names', () => {
      expect400(() => textTable([['a', ' ']]), 'header', /column 2 of the header has an empty name/);
      expect400(() => textTable([['a', 'b', 'a']]), 'column "a"', /duplicate column name "a" \(columns 1 and 3\)/);
    });
  });

  it('formats key paths', () => {
    expect(keyPath('data[1]', 'height')).to.equal('data[1].height');
    expect(keyPath('data[1]', 'body mass')).to.equal('data[1]["body mass"]');
  });
});
