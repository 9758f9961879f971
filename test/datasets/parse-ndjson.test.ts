import { DomainError, ValidationError } from '../../common/errors';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { DatasetLimits, DEFAULT_LIMITS } from '../../datasets/limits';
import { parseNdjson } from '../../datasets/parse-ndjson';
import { Table } from '../../datasets/table';
import { SAFE_FREE_TEXT, UNSTORABLE } from '../support/unsafe-names';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

function ndjson(text: string, limits: Partial<DatasetLimits> = {}): Promise<Table> {
  return parseNdjson(chunks(text), { ...DEFAULT_LIMITS, ...limits });
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a rejection, but it resolved');
}

async function expect400(
  promise: Promise<unknown>,
  field: string,
  message?: RegExp,
  code = 'invalid_request',
): Promise<DomainError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(ValidationError);
  expect(httpStatusOf(err)).to.equal(400);
  expect(err.code).to.equal(code);
  expect(err.field).to.equal(field);
  if (message) expect(err.message).to.match(message);
  return err;
}

describe('datasets/parse-ndjson', () => {
  it('parses array rows', async () => {
    const t = await ndjson('[1, "a"]\n[2.5, "b"]\n[-3, "a"]\n');
    expect(t.columns).to.deep.equal([
      { name: 'x0', type: 'number' },
      { name: 'x1', type: 'string', levels: ['a', 'b'] },
    ]);
    expect(Array.from(t.values)).to.deep.equal([1, 0, 2.5, 1, -3, 0]);
  });

  it('parses object rows, keys in any order', async () => {
    const t = await ndjson('{"h": 1, "s": "x"}\n{"s": "y", "h": 2}\n');
    expect(t.columns.map((c) => c.name)).to.deep.equal(['h', 's']);
    expect(Array.from(t.values)).to.deep.equal([1, 0, 2, 1]);
  });

  it('accepts CRLF, blank lines and no final newline; any chunking gives the same table', async () => {
    const expected = await ndjson('[1,2]\n[3,4]\n');
    expect(await ndjson('\r\n[1,2]\r\n\r\n  \n[3,4]')).to.deep.equal(expected);
    const bytes = Buffer.from('[1,2]\n[3,4]\n');
    expect(await parseNdjson(chunks(...Array.from(bytes, (b) => Buffer.from([b]))), DEFAULT_LIMITS)).to.deep.equal(
      expected,
    );
  });

  describe('errors', () => {
    it('refuses a line that is not JSON, naming the line', async () => {
      await expect400(ndjson('[1,2]\n[3,\n'), 'line 2', /line 2 is not valid JSON/, 'invalid_json');
    });

    it('refuses a line that is not an array or object', async () => {
      await expect400(ndjson('[1]\n\n7\n'), 'line 3', /must be an array of cells or an object/);
      await expect400(ndjson('"x"\n'), 'line 1');
    });

    it('refuses mixing arrays and objects', async () => {
      await expect400(ndjson('[1]\n{"x0":1}\n'), 'line 2', /same form/);
    });

    it('refuses a ragged line', async () => {
      await expect400(ndjson('[1,2]\n[1,2]\n[1,2,3]\n'), 'line 3', /3 cells but the table has 2 columns/);
    });

    it('refuses bad cells, naming them', async () => {
      await expect400(ndjson('[1,2]\n[1,null]\n'), 'line 2[1]', /is null/);
      await expect400(ndjson('[1,2]\n[1e999,2]\n'), 'line 2[0]', /finite/);
      await expect400(ndjson('{"a":1,"b c":2}\n{"a":1,"b c":false}\n'), 'line 2["b c"]', /boolean/);
    });

    it('refuses missing and extra keys, naming the line and key', async () => {
      await expect400(ndjson('{"a":1,"b":2}\n{"a":1}\n'), 'line 2.b', /no key "b"/);
      await expect400(ndjson('{"a":1}\n{"a":1,"c":3}\n'), 'line 2.c', /unexpected key "c"/);
    });

    it('refuses a column mixing numbers and strings', async () => {
      await expect400(
        ndjson('{"a":1}\n{"a":"1"}\n'),
        'column "a"',
        /line 1.a is a number but line 2.a is the string "1"/,
      );
    });

    it('refuses an empty body', async () => {
      await expect400(ndjson(''), 'body', /no rows/);
      await expect400(ndjson('\n \n'), 'body', /no rows/);
    });
  });

  it('refuses NUL and lone surrogates in a cell or a column name, naming the line', async () => {
    for (const bad of Object.values(UNSTORABLE)) {
      await expect400(ndjson(`["ok"]\n${JSON.stringify([bad])}\n`), 'line 2[0]', /must not contain NUL .*at index 1/);
      await expect400(ndjson(`${JSON.stringify({ [bad]: 1 })}\n`), `line 1[${JSON.stringify(bad)}]`);
    }
    const t = await ndjson(`${JSON.stringify({ [SAFE_FREE_TEXT]: SAFE_FREE_TEXT })}\n`);
    expect(t.columns).to.deep.equal([{ name: SAFE_FREE_TEXT, type: 'string', levels: [SAFE_FREE_TEXT] }]);
  });

  describe('limits', () => {
    it('stops an endless upload at maxRows', async () => {
      let pulled = 0;
      async function* endless(): AsyncGenerator<string> {
        for (;;) {
          pulled++;
          yield `[${pulled}, "level${pulled % 7}"]\n`;
        }
      }
      const err = await rejection(parseNdjson(endless(), { ...DEFAULT_LIMITS, maxRows: 500 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('line 501');
      expect(pulled).to.equal(501);
    });

    it('stops an endless upload at maxBodyBytes', async () => {
      async function* endless(): AsyncGenerator<string> {
        for (;;) yield '[1,2,3]\n'.repeat(1000);
      }
      const err = await rejection(
        parseNdjson(endless(), { ...DEFAULT_LIMITS, maxRows: 1e9, maxCells: 1e12, maxBodyBytes: 1 << 20 }),
      );
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('body');
    });

    it('stops at maxCells and maxColumns', async () => {
      const cells = await rejection(ndjson('[1,2]\n[3,4]\n[5,6]\n', { maxCells: 5 }));
      expect([httpStatusOf(cells), cells.field]).to.deep.equal([413, 'line 3']);
      const columns = await rejection(ndjson('[1,2,3]\n', { maxColumns: 2 }));
      expect([httpStatusOf(columns), columns.field]).to.deep.equal([413, 'line 1']);
    });
  });
});
