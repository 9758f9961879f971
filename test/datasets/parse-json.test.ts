import { DomainError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { tableSha256 } from '../../datasets/encode';
import { DatasetLimits, DEFAULT_LIMITS } from '../../datasets/limits';
import { JsonDatasetBody, parseJsonBody, tableFromRows } from '../../datasets/parse-json';
import { Table } from '../../datasets/table';
import { random, randomChunks } from '../support/random-chunks';
import { SAFE_FREE_TEXT, UNSTORABLE } from '../support/unsafe-names';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

function body(value: unknown, limits: Partial<DatasetLimits> = {}): Promise<JsonDatasetBody> {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return parseJsonBody(chunks(text), { ...DEFAULT_LIMITS, ...limits });
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

describe('datasets/parse-json', () => {
  it('parses {name, data: number[][]}', async () => {
    const { name, table } = await body({
      name: 'iris',
      data: [
        [1, 2],
        [3, 4.5],
      ],
    });
    expect(name).to.equal('iris');
    expect(table.columns).to.deep.equal([
      { name: 'x0', type: 'number' },
      { name: 'x1', type: 'number' },
    ]);
    expect(Array.from(table.values)).to.deep.equal([1, 2, 3, 4.5]);
  });

  it('parses object rows with string columns, name optional', async () => {
    const parsed = await body({
      data: [
        { h: 1, s: 'b' },
        { s: 'a', h: 2 },
        { h: 3, s: 'b' },
      ],
    });
    expect(parsed).to.not.have.property('name');
    expect(parsed.table.columns).to.deep.equal([
      { name: 'h', type: 'number' },
      { name: 's', type: 'string', levels: ['b', 'a'] },
    ]);
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

    it('refuses NUL and lone surrogates in the name, a cell or a column name, naming where', async () => {
      for (const [what, bad] of Object.entries(UNSTORABLE)) {
        await expect400(
          body({ name: bad, data: [[1]] }),
          'name',
          /^name must not contain NUL or a lone surrogate .*at index 1$/,
        );
        await expect400(body({ data: [['ok'], [bad]] }), 'data[1][0]', /data\[1\]\[0\] must not contain NUL/);
        await expect400(
          body({
            data: [
              { h: 1, s: 'ok' },
              { h: 2, s: bad },
            ],
          }),
          'data[1].s',
          /at index 1/,
        );
        const err = await expect400(body({ data: [{ [bad]: 1 }] }), `data[0][${JSON.stringify(bad)}]`);
        expect(err.message, what).to.match(/^the column name .* must not contain NUL or a lone surrogate/);
        // tableFromRows (inline data of other requests) takes the same check.
        expect(() => tableFromRows([[bad]], DEFAULT_LIMITS)).to.throw(ValidationError, /data\[0\]\[0\]/);
      }
      const kept = await body({ name: SAFE_FREE_TEXT, data: [[SAFE_FREE_TEXT]] });
      expect(kept.name).to.equal(SAFE_FREE_TEXT);
      expect(kept.table.columns[0]).to.deep.equal({ name: 'x0', type: 'string', levels: [SAFE_FREE_TEXT] });
    });

    it('requires data to be a non-empty array', async () => {
      await expect400(body({ name: 'x' }), 'data', /data is required/);
      await expect400(body({ data: { a: [1] } }), 'data', /must be an array of rows/);
      await expect400(body({ data: [] }), 'data', /no rows/);
    });

    it('names the row or cell at fault', async () => {
      await expect400(body({ data: [[1, 2], [3]] }), 'data[1]', /1 cell but the table has 2 columns/);
      await expect400(
        body({
          data: [
            [1, 2],
            [3, null],
          ],
        }),
        'data[1][1]',
        /null/,
      );
      await expect400(
        body({
          data: [
            [1, 2],
            [3, [4]],
          ],
        }),
        'data[1][1]',
        /an array/,
      );
      await expect400(body({ data: [{ a: 1, height: 2 }, { a: 1 }] }), 'data[1].height', /no key "height"/);
      await expect400(body('{"data": [[1, 1e999]]}'), 'data[0][1]', /finite/);
      await expect400(
        body({
          data: [
            [1, 'a'],
            [2, 3],
          ],
        }),
        'column "x1"',
        /mixes numbers and strings/,
      );
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
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('data');
      expect(err.message).to.match(/3 rows, more than the limit of 2 rows/);
    });

    it('refuses more columns, cells or levels than the limits', async () => {
      const columns = await rejection(body({ data: [[1, 2, 3]] }, { maxColumns: 2 }));
      expect([httpStatusOf(columns), columns.field]).to.deep.equal([413, 'data[0]']);
      const cells = await rejection(
        body(
          {
            data: [
              [1, 2],
              [3, 4],
            ],
          },
          { maxCells: 3 },
        ),
      );
      expect([httpStatusOf(cells), cells.field]).to.deep.equal([413, 'data[1]']);
      const levels = await rejection(body({ data: [['a'], ['b'], ['c']] }, { maxLevels: 2 }));
      expect([httpStatusOf(levels), levels.field]).to.deep.equal([413, 'column "x0"']);
    });
  });

  describe('tableFromRows', () => {
    it('builds a table from parsed rows', () => {
      const t = tableFromRows(
        [
          [0, 1],
          [2, 3],
        ],
        DEFAULT_LIMITS,
      );
      expect(t.rows).to.equal(2);
      expect(Array.from(t.values)).to.deep.equal([0, 1, 2, 3]);
    });

    it('names errors after the given field', () => {
      const run = (data: unknown): DomainError => {
        try {
          tableFromRows(data, DEFAULT_LIMITS, 'points');
        } catch (err) {
          return err as DomainError;
        }
        throw new Error('expected an error');
      };
      expect(run([[1], [null]]).field).to.equal('points[1][0]');
      expect(run('nope').field).to.equal('points');
      expect(run(undefined).message).to.match(/points is required/);
      expect(run([[1], [Number.NaN]]).message).to.match(/points\[1\]\[0\] is NaN; numbers must be finite/);
    });
  });

  describe('streaming', () => {
    const oneByteChunks = (bytes: Buffer): Buffer[] => Array.from(bytes, (b) => Buffer.from([b]));

    /** The body as JSON.parse reads it (a leading byte-order mark dropped). */
    const jsonOf = (text: string): any => JSON.parse(text.replace(/^\ufeff/, ''));

    /** What the JSON.parse path makes of the body's rows: the table, or the error. */
    function reference(text: string, limits: DatasetLimits = DEFAULT_LIMITS): Table | DomainError {
      try {
        return tableFromRows(jsonOf(text).data, limits, 'data');
      } catch (err) {
        if (err instanceof DomainError) return err;
        throw err;
      }
    }

    function expectSameTable(got: Table, text: string): void {
      const want = reference(text);
      if (want instanceof DomainError) throw want;
      expect(got).to.deep.equal(want);
      expect(tableSha256(got)).to.equal(tableSha256(want));
    }

    async function expectSameError(text: string, pieces: Buffer[] = [Buffer.from(text)]): Promise<DomainError> {
      const want = reference(text);
      expect(want).to.be.instanceOf(DomainError);
      const err = await rejection(parseJsonBody(chunks(...pieces), DEFAULT_LIMITS));
      expect([httpStatusOf(err), err.code, err.field, err.message], text.slice(0, 200)).to.deep.equal([
        httpStatusOf(want as DomainError),
        (want as DomainError).code,
        (want as DomainError).field,
        (want as DomainError).message,
      ]);
      return err;
    }

    function numericBody(rows: number, rnd: () => number): string {
      const lines: string[] = [];
      for (let i = 0; i < rows; i++) {
        lines.push(
          `[${(rnd() * 100).toFixed(6)}, ${-Math.floor(rnd() * 1e6)}, ${(rnd() * 1e-3).toExponential(8)}, ${rnd()}]`,
        );
      }
      return `{"name": "numbers", "data": [\n${lines.join(',\n')}\n]}`;
    }

    const BODIES = [
      JSON.stringify(
        {
          name: 'iris',
          data: [
            [5.1, 3.5, 'setosa'],
            [4.9, 3, 'setosa'],
            [6.2, 2.9, 'virginica'],
          ],
        },
        null,
        2,
      ),
      '{"data":[{"h\\u00e9ight":1.5e3,"espèce":"caf\\u00e9 😀","\\"q\\"":-0},{"espèce":"日本","h\\u00e9ight":-2.5E-3,"\\"q\\"":0}],' +
        '"name":"d\\u00e9j\\u00e0 vu \\ud83d\\ude00"}',
      '\ufeff {"data" : [ [ 1 , "a" ] , [ 2 , "b" ] , [ 3 , "a" ] ] , "name" : "x" } \n\t\r ',
      numericBody(200, random(5)),
    ];

    it('gives the table and hash of the JSON.parse path for any chunking (one byte at a time, random sizes)', async () => {
      const rnd = random(17);
      for (const text of BODIES) {
        const bytes = Buffer.from(text, 'utf8');
        const splits = [
          [bytes],
          oneByteChunks(bytes),
          randomChunks(bytes, rnd, 3),
          randomChunks(bytes, rnd, 17),
          randomChunks(bytes, rnd, 200),
        ];
        for (const pieces of splits) {
          const parsed = await parseJsonBody(chunks(...pieces), DEFAULT_LIMITS);
          expect(parsed.name).to.equal(jsonOf(text).name);
          expectSameTable(parsed.table, text);
        }
      }
    });

    it('decodes escapes and unicode in strings and keys', async () => {
      const text =
        '{"name":"\\u00e9t\\u00C9 \\ud83d\\ude00 \\"q\\" \\\\ \\/","data":[' +
        '{"h\\u00e9ight":1,"s":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t","日本":"€"},' +
        '{"héight":2,"s":"split \\ud83d\\ude00 pair","\\u65e5\\u672c":"\\u20ac"}]}';
      for (const pieces of [[Buffer.from(text)], oneByteChunks(Buffer.from(text))]) {
        const { name, table } = await parseJsonBody(chunks(...pieces), DEFAULT_LIMITS);
        expect(name).to.equal('étÉ 😀 "q" \\ /');
        expect(table.columns.map((c) => c.name)).to.deep.equal(['héight', 's', '日本']);
        expect(table.columns[1].levels).to.deep.equal(['café 😀 "q" \\ / \b\f\n\r\t', 'split 😀 pair']);
        expect(table.columns[2].levels).to.deep.equal(['€']);
        expectSameTable(table, text);
      }
      // A lone surrogate is decoded (as JSON.parse does), then refused: Postgres cannot store it.
      const lone = text.replace('split \\ud83d\\ude00 pair', 'lone \\ud800 surrogate');
      for (const pieces of [[Buffer.from(lone)], oneByteChunks(Buffer.from(lone))]) {
        const err = await expectSameError(lone, pieces);
        expect([err.field, err.message]).to.deep.equal([
          'data[1].s',
          'data[1].s must not contain NUL or a lone surrogate (text Postgres cannot store); found a lone surrogate (U+D800) at index 5',
        ]);
      }
    });

    it('reads numbers exactly as JSON.parse does', async () => {
      const texts = [
        '0',
        '-0',
        '0.0',
        '-0.0e5',
        '1',
        '-1',
        '1e5',
        '1E+5',
        '1e-5',
        '2.5E-7',
        '1.5e3',
        '-1.5e-300',
        '5e-324',
        '4.9e-324',
        '2e-324',
        '1e-400',
        '1.7976931348623157e308',
        '123456789012345678901234567890',
        '9007199254740993',
        '0.1',
        '0.30000000000000004',
        '1e22',
        '1e23',
        '4.35',
        '0.000001',
        '1234567.8901234567',
        '100000000000000000000000',
        '1e0000000000000000000001',
      ];
      const text = `{"data": [[${texts.join(', ')}]]}`;
      const { table } = await parseJsonBody(chunks(...oneByteChunks(Buffer.from(text))), DEFAULT_LIMITS);
      expect(Array.from(table.values)).to.deep.equal(texts.map((t) => Number(t) + 0));
      expectSameTable(table, text);
      await expect400(body('{"data": [[1, -1e999]]}'), 'data[0][1]', /-Infinity; numbers must be finite/);
    });

    it('reads random numbers as JSON.parse does (randomised)', async () => {
      const rnd = random(2024);
      const cells: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const x = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 80 - 40);
        cells.push(rnd() < 0.5 ? String(x) : x.toExponential(Math.floor(rnd() * 20)));
      }
      const text = `{"data": [${cells.map((c) => `[${c}]`).join(',')}]}`;
      const { table } = await parseJsonBody(chunks(...randomChunks(Buffer.from(text), rnd, 9)), DEFAULT_LIMITS);
      expectSameTable(table, text);
    });

    it('refuses arrays, objects, booleans and null in cells, however deep, with the same error as before', async () => {
      const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
      const deepObject = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      const texts = [
        `{"data": [[1, 2], [3, ${deep(100_000)}]]}`,
        `{"data": [[1, ${deep(50)}], [3, 4]]}`,
        `{"data": [{"a": 1, "b": 2}, {"a": 3, "b": ${deepObject(10_000)}}]}`,
        `{"data": [{"a": 1, "b": {"c": [{"d": {}}]}}]}`,
        `{"data": [[1, 2], [${deep(3)}, 2, 3]]}`,
        `{"data": [[1, 2], [3, {"x": [1, 2, {"y": null}]}]]}`,
        '{"data": [[1, null, [2]]]}',
        '{"data": [[true]]}',
        '{"data": [[1], [false]]}',
        '{"data": [{"a": null}]}',
        '{"data": [{"a": 1}, {"b": [1]}]}',
        '{"data": [{"a": 1}, [1]]}',
        '{"data": [[1], {"a": 1}]}',
        '{"data": [[1], "row"]}',
        '{"data": [[1], [[1, [2, [3]]]]]}',
      ];
      for (const text of texts) {
        await expectSameError(text);
        await expectSameError(text, randomChunks(Buffer.from(text), random(text.length), 50));
      }
      const err = await expectSameError(texts[0]);
      expect([err.field, err.message]).to.deep.equal([
        'data[1][1]',
        'data[1][1] is an array; a cell must be a number or a string',
      ]);
    });

    it('keeps JSON.parse semantics for key order, repeated keys and "__proto__"', async () => {
      const late = await body('{"data": [[1]], "name": "late"}');
      expect(late.name).to.equal('late');
      const repeated = '{"data": [[1]], "name": "a", "data": [[2], [3]], "name": "b"}';
      const parsed = await body(repeated);
      expect(parsed.name).to.equal('b');
      expectSameTable(parsed.table, repeated);
      const proto = '{"data": [{"__proto__": 1, "x": 2}, {"x": 3, "__proto__": 4}]}';
      const protoTable = (await body(proto)).table;
      expect(protoTable.columns.map((c) => c.name)).to.deep.equal(['__proto__', 'x']);
      expectSameTable(protoTable, proto);
      const duplicateCell = '{"data": [{"a": 1, "b": 2, "a": 3}]}';
      expectSameTable((await body(duplicateCell)).table, duplicateCell);
    });

    it('validates name and data as they are read', async () => {
      await expect400(body('{"name": null, "data": [[1]]}'), 'name', /must be a string/);
      await expect400(body('{"name": ["x"], "data": [[1]]}'), 'name', /must be a string/);
      await expect400(body('{"name": {"a": 1}, "data": [[1]]}'), 'name', /must be a string/);
      await expect400(body('{"data": null}'), 'data', /must be an array of rows/);
      await expect400(body('{"data": "x"}'), 'data', /must be an array of rows/);
      await expect400(body('{"data": 5, "name": "x"}'), 'data', /must be an array of rows/);
      await expect400(body('{}'), 'data', /data is required/);
      await expect400(body('{"data": [[1]], "extra": 1}'), 'extra', /unknown field "extra"/);
      // A body that is not JSON is invalid JSON, whatever field or row came first; of a valid body, the first problem.
      await expect400(body('{"nmae": "x", garbage'), 'body', /not valid JSON/, 'invalid_json');
      await expect400(body('{"data": [[1], [null]], garbage'), 'body', /not valid JSON/, 'invalid_json');
      await expect400(body('{"a":'), 'body', /not valid JSON/, 'invalid_json');
      await expect400(body('{"data": [[1], [null], [2, 3]]}'), 'data[1][0]', /null/);
      await expect400(body('true'), 'body', /must be a JSON object/);
      await expect400(body('\ufeff'), 'body', /empty/, 'invalid_json');
      await expect400(body(' \n\t\r '), 'body', /empty/, 'invalid_json');
    });

    describe('limits, mid-stream', () => {
      function endless(row: (i: number) => string) {
        const state = { pulled: 0, closed: false };
        async function* gen(): AsyncGenerator<string> {
          try {
            yield '{"name": "endless", "data": [';
            for (let i = 0; ; i++) {
              state.pulled++;
              yield `${i === 0 ? '' : ','}${row(i)}`;
            }
          } finally {
            state.closed = true;
          }
        }
        return { state, source: gen() };
      }
      const unbounded = { ...DEFAULT_LIMITS, maxBodyBytes: Number.MAX_SAFE_INTEGER };

      it('stops an endless body at row maxRows + 1, having read no further', async () => {
        const { state, source } = endless((i) => `[${i}, ${i + 0.5}]`);
        const err = await rejection(parseJsonBody(source, { ...unbounded, maxRows: 1000 }));
        expect([httpStatusOf(err), err.code, err.field]).to.deep.equal([413, 'payload_too_large', 'data']);
        expect(err.message).to.equal('data has at least 1,001 rows, more than the limit of 1,000 rows');
        expect(state.pulled).to.equal(1001);
        expect(state.closed).to.equal(true);
      });

      it('stops an endless body of object rows at maxRows + 1', async () => {
        const { state, source } = endless((i) => `{"a": ${i}, "b": "s${i % 3}"}`);
        const err = await rejection(parseJsonBody(source, { ...unbounded, maxRows: 50 }));
        expect([httpStatusOf(err), err.field]).to.deep.equal([413, 'data']);
        expect(state.pulled).to.equal(51);
      });

      it('stops an endless body at maxCells and maxLevels', async () => {
        const cells = endless((i) => `[${i}, ${i}]`);
        const tooManyCells = await rejection(parseJsonBody(cells.source, { ...unbounded, maxCells: 2001 }));
        expect([httpStatusOf(tooManyCells), tooManyCells.field]).to.deep.equal([413, 'data[1000]']);
        expect(cells.state.pulled).to.equal(1001);
        const levels = endless((i) => `["s${i}"]`);
        const tooManyLevels = await rejection(parseJsonBody(levels.source, { ...unbounded, maxLevels: 100 }));
        expect([httpStatusOf(tooManyLevels), tooManyLevels.field]).to.deep.equal([413, 'column "x0"']);
        expect(levels.state.pulled).to.equal(101);
      });

      it('stops an endless body at maxBodyBytes in the middle of a row', async () => {
        const { state, source } = endless(() => `[${'1,'.repeat(500)}1]`);
        const err = await rejection(parseJsonBody(source, { ...DEFAULT_LIMITS, maxBodyBytes: 100_000 }));
        expect([httpStatusOf(err), err.field]).to.deep.equal([413, 'body']);
        expect(state.pulled).to.be.at.most(100);
        expect(state.closed).to.equal(true);
      });
    });

    describe('invalid JSON', () => {
      it('refuses every truncation of a valid body', async () => {
        const text = JSON.stringify({
          name: 'n\u00e9',
          data: [
            [1.5, 'a\\"b'],
            [-2e-3, 'c'],
          ],
        });
        const bytes = Buffer.from(text);
        for (let cut = 1; cut < bytes.length; cut++) {
          const head = bytes.subarray(0, cut);
          const err = await expect400(
            parseJsonBody(chunks(...oneByteChunks(head)), DEFAULT_LIMITS),
            'body',
            /not valid JSON/,
            'invalid_json',
          );
          // At the end: "Unexpected end of JSON input", "Unterminated string", "Unterminated fractional number"...
          expect(err.message.endsWith(` in JSON at byte offset ${cut}`), err.message).to.equal(true);
        }
      });

      it('refuses garbage anywhere, naming the byte offset JSON.parse names', async () => {
        const texts = [
          '{"data":[[1]]} x',
          '{"data":[[1]]}{}',
          '{"data":[[1]]} // comment',
          '{"data":[[1,]]}',
          '{"data":[[01]]}',
          '{"data":[[1.]]}',
          '{"data":[[.5]]}',
          '{"data":[[+1]]}',
          '{"data":[[NaN]]}',
          '{"data":[[Infinity]]}',
          '{"data":[[1e]]}',
          '{"data":[[-]]}',
          '{"data":[["a\\x"]]}',
          '{"data":[["\\u12"]]}',
          '{"data":[["a\tb"]]}',
          '{data:[[1]]}',
          '{"data" [[1]]}',
          '{"data":[[1]] "name":"x"}',
          '{"data":[[tru]]}',
          "{'data':[[1]]}",
          '{"data":[[1]],}',
          '{"data":[[1] [2]]}',
          '{"data":[[1]]]',
          'x',
          '{"data":[[1],[2}]}',
          '{"data":[{"a" 1}]}',
        ];
        for (const text of texts) {
          let position: number | undefined;
          try {
            JSON.parse(text);
          } catch (e) {
            position = Number(/at position (\d+)/.exec((e as Error).message)?.[1] ?? NaN);
          }
          const err = await expect400(
            body(text),
            'body',
            /^the body is not valid JSON: .* in JSON at byte offset \d+$/,
            'invalid_json',
          );
          if (position === position) expect(err.message, text).to.match(new RegExp(`at byte offset ${position}$`));
          const split = await rejection(parseJsonBody(chunks(...oneByteChunks(Buffer.from(text))), DEFAULT_LIMITS));
          expect(split.message).to.equal(err.message);
        }
      });

      it('accepts trailing whitespace', async () => {
        const { table } = await body('{"data":[[1]]} \n\t\r\n ');
        expect(table.rows).to.equal(1);
      });

      it('refuses a byte-order mark that is not one, and invalid UTF-8 outside strings', async () => {
        await expect400(
          parseJsonBody(chunks(Buffer.from([0xef, 0xbb, 0x7b])), DEFAULT_LIMITS),
          'body',
          /not valid JSON/,
          'invalid_json',
        );
        await expect400(
          parseJsonBody(chunks(Buffer.from('{"data":[[é]]}', 'utf8')), DEFAULT_LIMITS),
          'body',
          /byte 0xc3 in JSON at byte offset 10$/,
          'invalid_json',
        );
      });
    });
  });
});
