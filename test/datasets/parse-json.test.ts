import { AppError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { DatasetLimits, DEFAULT_LIMITS } from '../../datasets/limits';
import { JsonDatasetBody, parseJsonBody, tableFromRows } from '../../datasets/parse-json';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

function body(value: unknown, limits: Partial<DatasetLimits> = {}): Promise<JsonDatasetBody> {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return parseJsonBody(chunks(text), { ...DEFAULT_LIMITS, ...limits });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection, but it resolved');
}

async function expect400(promise: Promise<unknown>, field: string, message?: RegExp, code = 'invalid_request'): Promise<AppError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(ValidationError);
  expect(err.status).to.equal(400);
  expect(err.code).to.equal(code);
  expect(err.field).to.equal(field);
  if (message) expect(err.message).to.match(message);
  return err;
}

describe('datasets/parse-json', () => {
  it('parses {name, data: number[][]}', async () => {
    const { name, table } = await body({ name: 'iris', data: [[1, 2], [3, 4.5]] });
    expect(name).to.equal('iris');
    expect(table.columns).to.deep.equal([{ name: 'x0', type: 'number' }, { name: 'x1', type: 'number' }]);
    expect(Array.from(table.values)).to.deep.equal([1, 2, 3, 4.5]);
  });

  it('parses object rows with string columns, name optional', async () => {
    const parsed = await body({ data: [{ h: 1, s: 'b' }, { s: 'a', h: 2 }, { h: 3, s: 'b' }] });
    expect(parsed).to.not.have.property('name');
    expect(parsed.table.columns).to.deep.equal([{ name: 'h', type: 'number' }, { name: 's', type: 'string', levels: ['b', 'a'] }]);
    expect(Array.from(parsed.table.values)).to.deep.equal([1, 0, 2, 1, 3, 0]);
  });

  it('reads a body split into many chunks, with a byte-order mark', async () => {
    const text = '\ufeff{"name":"é","data":[[1],[2]]}';
    const bytes = Buffer.from(text, 'utf8');
    const parsed = await parseJsonBody(chunks(...Array.from(bytes, (b) => Buffer.from([b]))), DEFAULT_LIMITS);
    expect(parsed.name).to.equal('é');
    expect(parsed.table.rows).to.equal(2);
  });

  describe('errors', () => {
    it('refuses invalid and empty JSON with invalid_json', async () => {
      await expect400(body('{"data": [[1,2]'), 'body', /not valid JSON/, 'invalid_json');
      await expect400(body(''), 'body', /empty/, 'invalid_json');
    });

    for (const value of [[[1, 2]], null, 7, '"text"']) {
      it(`refuses a body that is not an object: ${JSON.stringify(value)}`, async () => {
        await expect400(body(value), 'body', /must be a JSON object/);
      });
    }

    it('refuses unknown fields', async () => {
      await expect400(body({ data: [[1]], nmae: 'x' }), 'nmae', /unknown field "nmae"/);
    });

    it('validates name', async () => {
      await expect400(body({ name: 5, data: [[1]] }), 'name', /must be a string/);
      await expect400(body({ name: '', data: [[1]] }), 'name', /1 to 200 characters/);
      await expect400(body({ name: 'n'.repeat(201), data: [[1]] }), 'name', /1 to 200 characters long, got 201/);
      expect((await body({ name: 'n'.repeat(200), data: [[1]] })).name).to.have.length(200);
    });

    it('requires data to be a non-empty array', async () => {
      await expect400(body({ name: 'x' }), 'data', /data is required/);
      await expect400(body({ data: { a: [1] } }), 'data', /must be an array of rows/);
      await expect400(body({ data: [] }), 'data', /no rows/);
    });

    it('names the row or cell at fault', async () => {
      await expect400(body({ data: [[1, 2], [3]] }), 'data[1]', /1 cell but the table has 2 columns/);
      await expect400(body({ data: [[1, 2], [3, null]] }), 'data[1][1]', /null/);
      await expect400(body({ data: [[1, 2], [3, [4]]] }), 'data[1][1]', /an array/);
      await expect400(body({ data: [{ a: 1, height: 2 }, { a: 1 }] }), 'data[1].height', /no key "height"/);
      await expect400(body('{"data": [[1, 1e999]]}'), 'data[0][1]', /finite/);
      await expect400(body({ data: [[1, 'a'], [2, 3]] }), 'column "x1"', /mixes numbers and strings/);
      await expect400(body({ data: [[]] }), 'data[0]', /at least one column/);
      await expect400(body({ data: [1, 2] }), 'data[0]', /must be an array of cells or an object/);
    });
  });

  describe('limits', () => {
    it('stops reading an endless body at maxBodyBytes', async () => {
      let pulled = 0;
      async function* endless(): AsyncGenerator<string> {
        yield '{"data": [';
        for (;;) {
          pulled++;
          yield '[1,2,3],'.repeat(128);
        }
      }
      const err = await rejection(parseJsonBody(endless(), { ...DEFAULT_LIMITS, maxBodyBytes: 1 << 20 }));
      expect(err).to.be.instanceOf(PayloadTooLargeError);
      expect(err.field).to.equal('body');
      expect(err.message).to.contain('1 MiB');
      expect(pulled).to.be.at.most(1025);
    });

    it('refuses more rows than maxRows before building anything', async () => {
      const err = await rejection(body({ data: [[1], [2], [3]] }, { maxRows: 2 }));
      expect(err.status).to.equal(413);
      expect(err.field).to.equal('data');
      expect(err.message).to.match(/3 rows, more than the limit of 2 rows/);
    });

    it('refuses more columns, cells or levels than the limits', async () => {
      const columns = await rejection(body({ data: [[1, 2, 3]] }, { maxColumns: 2 }));
      expect([columns.status, columns.field]).to.deep.equal([413, 'data[0]']);
      const cells = await rejection(body({ data: [[1, 2], [3, 4]] }, { maxCells: 3 }));
      expect([cells.status, cells.field]).to.deep.equal([413, 'data[1]']);
      const levels = await rejection(body({ data: [['a'], ['b'], ['c']] }, { maxLevels: 2 }));
      expect([levels.status, levels.field]).to.deep.equal([413, 'column "x0"']);
    });
  });

  describe('tableFromRows', () => {
    it('builds a table from parsed rows', () => {
      const t = tableFromRows([[0, 1], [2, 3]], DEFAULT_LIMITS);
      expect(t.rows).to.equal(2);
      expect(Array.from(t.values)).to.deep.equal([0, 1, 2, 3]);
    });

    it('names errors after the given field', () => {
      const run = (data: unknown): AppError => {
        try {
          tableFromRows(data, DEFAULT_LIMITS, 'points');
        } catch (err) {
          return err as AppError;
        }
        throw new Error('expected an error');
      };
      expect(run([[1], [null]]).field).to.equal('points[1][0]');
      expect(run('nope').field).to.equal('points');
      expect(run(undefined).message).to.match(/points is required/);
      expect(run([[1], [Number.NaN]]).message).to.match(/points\[1\]\[0\] is NaN; numbers must be finite/);
    });
  });
});
