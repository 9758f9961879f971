import { DomainError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { DatasetLimits, DEFAULT_LIMITS } from '../../datasets/limits';
import { parseCsv } from '../../datasets/parse-csv';
import { Table } from '../../datasets/table';
import { SAFE_FREE_TEXT } from '../support/unsafe-names';
import { liveHeapBytes } from '../support/live-heap';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

function csv(text: string, limits: Partial<DatasetLimits> = {}): Promise<Table> {
  return parseCsv(chunks(text), { ...DEFAULT_LIMITS, ...limits });
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

async function expect400(promise: Promise<unknown>, field: string, message?: RegExp): Promise<DomainError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(ValidationError);
  expect(httpStatusOf(err)).to.equal(400);
  expect(err.field).to.equal(field);
  if (message) expect(err.message).to.match(message);
  return err;
}

describe('datasets/parse-csv', () => {
  it('parses a header and numeric and string columns', async () => {
    const t = await csv('height,species,mass\n1.5,cat,4\n2,dog,30.25\n0.5,cat,-1e2\n');
    expect(t.columns).to.deep.equal([
      { name: 'height', type: 'number' },
      { name: 'species', type: 'string', levels: ['cat', 'dog'] },
      { name: 'mass', type: 'number' },
    ]);
    expect(t.rows).to.equal(3);
    expect(Array.from(t.values)).to.deep.equal([1.5, 0, 4, 2, 1, 30.25, 0.5, 0, -100]);
  });

  it('trims header names and numbers', async () => {
    const t = await csv(' a , b\n 1 , 2 \n');
    expect(t.columns.map((c) => c.name)).to.deep.equal(['a', 'b']);
    expect(Array.from(t.values)).to.deep.equal([1, 2]);
  });

  it('handles RFC 4180 quoting: commas, doubled quotes, line breaks, quoted numbers', async () => {
    const t = await csv('"na,me","say ""hi""",n\n"a,b","he said ""no""","7"\n"two\nlines","""",8\n');
    expect(t.columns).to.deep.equal([
      { name: 'na,me', type: 'string', levels: ['a,b', 'two\nlines'] },
      { name: 'say "hi"', type: 'string', levels: ['he said "no"', '"'] },
      { name: 'n', type: 'number' },
    ]);
    expect(Array.from(t.values)).to.deep.equal([0, 0, 7, 1, 1, 8]);
  });

  it('accepts CRLF line endings, a missing final newline and trailing blank lines', async () => {
    const lf = await csv('a,b\n1,x\n2,"y\nz"\n');
    expect(await csv('a,b\r\n1,x\r\n2,"y\r\nz"\r\n\r\n\r\n')).to.deep.equal(lf);
    expect(await csv('a,b\n1,x\n2,"y\nz"')).to.deep.equal(lf);
    expect(await csv('a,b\n1,x\n2,"y\nz"\n\n  \n')).to.deep.equal(lf);
    expect(lf.columns[1].levels).to.deep.equal(['x', 'y\nz']);
  });

  it('ignores a UTF-8 byte-order mark', async () => {
    const t = await parseCsv(chunks(Buffer.from('\ufeffa\n1\n', 'utf8')), DEFAULT_LIMITS);
    expect(t.columns[0].name).to.equal('a');
  });

  it('gives the same table whatever the chunking, byte by byte included', async () => {
    const text = 'name,"city, country",n\n"Zoë ""Z""",Zürich,1\nJosé,"東京\n日本",2\n';
    const whole = await csv(text);
    const bytes = Buffer.from(text, 'utf8');
    const byteChunks = Array.from(bytes, (b) => Buffer.from([b]));
    expect(await parseCsv(chunks(...byteChunks), DEFAULT_LIMITS)).to.deep.equal(whole);
    expect(whole.columns[0].levels).to.deep.equal(['Zoë "Z"', 'José']);
    expect(whole.columns[1].levels).to.deep.equal(['Zürich', '東京\n日本']);
  });

  describe('through csv-parse', () => {
    it('drops a UTF-8 byte-order mark split across chunks, before a quoted header', async () => {
      const bytes = Buffer.from('\ufeff"a, b",c\r\n1,x\r\n', 'utf8');
      const t = await parseCsv(chunks(bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)), DEFAULT_LIMITS);
      expect(t.columns.map((c) => c.name)).to.deep.equal(['a, b', 'c']);
      expect(t.columns[1].levels).to.deep.equal(['x']);
    });

    it('reads CRLF line ends, and a CRLF inside a quoted field as one line break kept as LF', async () => {
      const t = await csv('a,b\r\n"x\r\ny",1\r\nz,2\r\n');
      expect(t.columns[0].levels).to.deep.equal(['x\ny', 'z']);
      expect(Array.from(t.values)).to.deep.equal([0, 1, 1, 2]);
      // The CRLF inside the quotes is one line: the ragged row after it is row 5.
      await expect400(csv('a,b\r\n"x\r\ny",1\r\nz,2\r\n3\r\n'), 'row 5', /row 5 has 1 cell/);
    });

    it('keeps line breaks, commas and doubled quotes inside a quoted field', async () => {
      const t = await csv('s,n\n"one\ntwo, ""three""\n",1\n');
      expect(t.columns[0].levels).to.deep.equal(['one\ntwo, "three"\n']);
      expect(t.rows).to.equal(1);
    });

    it('names a ragged row by the line it starts on, after multi-line records', async () => {
      const body = 'a,b\n"x\n\ny",1\n"p\nq",2\nz,4,5\n';
      const err = await expect400(csv(body), 'row 7', /^row 7 has 3 cells but the table has 2 columns/);
      expect(err.code).to.equal('invalid_request');
    });

    it('names the row a never-closed quote opened on', async () => {
      await expect400(csv('a,b\n1,"x\ny"\n2,"open\n3,4\n'), 'row 4', /row 4 has a quoted field that is never closed/);
    });

    it('maps csv-parse quote errors to the field they are in', async () => {
      await expect400(csv('a,b,c\n1,2,x"y\n'), 'row 2', /^row 2, field 3: a quote inside an unquoted field/);
      await expect400(csv('a,b,c\n1,"2"3,4\n'), 'row 2', /^row 2, field 2: unexpected text after the closing quote/);
    });

    it('reads a quoted empty line as a cell, not as a blank line', async () => {
      await expect400(csv('a\n1\n""\n'), 'row 3, column "a"', /missing value/);
      expect((await csv('a\n1\n\n')).rows).to.equal(1);
    });

    it('keeps a lone CR as data, and drops a final CR as a line end', async () => {
      const t = await csv('s\nx\ry\nz\r');
      expect(t.columns[0].levels).to.deep.equal(['x\ry', 'z']);
      expect((await parseCsv(chunks('s\nz\r', '\r'), DEFAULT_LIMITS)).columns[0].levels).to.deep.equal(['z\r']);
    });
  });

  describe('errors', () => {
    it('refuses an empty body: a header is required', async () => {
      await expect400(csv(''), 'body', /header line/);
      await expect400(csv('\n\n'), 'body', /header line/);
    });

    it('refuses a blank first line', async () => {
      await expect400(csv('\na,b\n1,2\n'), 'row 1', /start with a header/);
    });

    it('refuses a header without data rows', async () => {
      await expect400(csv('a,b\n'), 'body', /no data rows/);
    });

    it('refuses empty and duplicate header names', async () => {
      await expect400(csv('a,,c\n1,2,3\n'), 'header', /column 2 of the header has an empty name/);
      await expect400(csv('a,b,a\n1,2,3\n'), 'column "a"', /duplicate column name/);
    });

    it('refuses a ragged row, naming it by line', async () => {
      await expect400(csv('a,b\n1,2\n3\n'), 'row 3', /row 3 has 1 cell but the table has 2 columns/);
      await expect400(csv('a,b\n1,2\n3,4,5\n'), 'row 3', /3 cells/);
    });

    it('numbers rows by the line they start on', async () => {
      await expect400(csv('a,b\n"x\ny",1\n"z",2,3\n'), 'row 4', /row 4 has 3 cells/);
    });

    it('refuses an empty cell as a missing value', async () => {
      await expect400(csv('a,b\n1,2\n3,\n'), 'row 3, column "b"', /missing value/);
      await expect400(csv('a,b\n1,""\n'), 'row 2, column "b"', /missing value/);
    });

    for (const cell of ['NaN', 'Infinity', '-Infinity', 'inf', '1e999']) {
      it(`refuses ${cell} as non-finite`, async () => {
        await expect400(csv(`a,b\n1,2\n3,${cell}\n`), 'row 3, column "b"', /not a finite number/);
      });
    }

    it('refuses a column mixing numbers and strings', async () => {
      await expect400(csv('a,b\n1,2\n3,n/a\n'), 'column "b"', /mixes numbers and strings/);
    });

    it('refuses a quoted field that is never closed', async () => {
      await expect400(csv('a,b\n1,2\n3,"four\n5,6\n'), 'row 3', /never closed/);
    });

    it('refuses a quote inside an unquoted field', async () => {
      await expect400(csv('a,b\n1,5\'11"\n'), 'row 2', /quote inside an unquoted field/);
    });

    it('refuses text after a closing quote', async () => {
      await expect400(csv('a,b\n1,"x"y\n'), 'row 2', /after the closing quote/);
    });

    it('refuses a blank line before more data', async () => {
      await expect400(csv('a,b\n1,2\n\n3,4\n'), 'row 3', /blank lines are only allowed at the end/);
    });
  });

  it('refuses NUL in a cell or a column name, naming the row and column', async () => {
    await expect400(
      csv('x,y\n1,ok\n2,a\u0000b\n'),
      'row 3, column "y"',
      /must not contain NUL .*found NUL \(U\+0000\) at index 1/,
    );
    await expect400(csv('x,"y"\n1,ok\n2,"a\u0000b"\n'), 'row 3, column "y"', /found NUL/);
    await expect400(csv('x,a\u0000b\n1,2\n'), 'column "a\\u0000b"', /column 2 of the header must not contain NUL/);
    // A lone surrogate cannot reach a CSV cell: its UTF-8 bytes are invalid and decode as U+FFFD.
    const t = await csv('note\n"First line\nsecond line\twith a tab, Équipe 🚀"\n');
    expect(t.columns).to.deep.equal([{ name: 'note', type: 'string', levels: [SAFE_FREE_TEXT] }]);
  });

  describe('limits', () => {
    it('refuses more columns than maxColumns in the header', async () => {
      const err = await rejection(csv('a,b,c\n1,2,3\n', { maxColumns: 2 }));
      expect(err).to.be.instanceOf(PayloadTooLargeError);
      expect(err.field).to.equal('header');
      expect(err.message).to.match(/limit of 2/);
    });

    it('stops an endless upload at maxRows, reading no further', async () => {
      let pulled = 0;
      async function* endless(): AsyncGenerator<string> {
        yield 'a,b,c\n';
        for (;;) {
          pulled++;
          yield `${pulled},2,3\n`;
        }
      }
      const err = await rejection(parseCsv(endless(), { ...DEFAULT_LIMITS, maxRows: 1000 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('row 1002');
      expect(err.message).to.match(/limit of 1,000 rows/);
      expect(pulled).to.equal(1001);
    });

    it('stops an endless upload at maxBodyBytes', async () => {
      async function* endless(): AsyncGenerator<string> {
        yield 'a,b,c\n';
        for (;;) yield '1,2,3\n'.repeat(1000);
      }
      const err = await rejection(
        parseCsv(endless(), { ...DEFAULT_LIMITS, maxRows: 1e9, maxCells: 1e12, maxBodyBytes: 1 << 20 }),
      );
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('body');
      expect(err.message).to.contain('1,048,576 bytes (1 MiB)');
    });

    it('stops an endless line (no newline ever) at maxBodyBytes', async () => {
      async function* endless(): AsyncGenerator<string> {
        for (;;) yield 'x'.repeat(64 * 1024);
      }
      const err = await rejection(parseCsv(endless(), { ...DEFAULT_LIMITS, maxBodyBytes: 4 << 20 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('body');
    });

    it('stops an endless quoted field at maxBodyBytes', async () => {
      async function* endless(): AsyncGenerator<string> {
        yield 'a\n"';
        for (;;) yield 'line\n';
      }
      const err = await rejection(parseCsv(endless(), { ...DEFAULT_LIMITS, maxBodyBytes: 1 << 20 }));
      expect(httpStatusOf(err)).to.equal(413);
    });

    it('stops at maxCells reading no further, when each row ends a chunk', async () => {
      let pulled = 0;
      async function* endless(): AsyncGenerator<string> {
        yield 'a,b\n';
        for (;;) {
          pulled++;
          yield `${pulled},2\n`;
        }
      }
      const err = await rejection(parseCsv(endless(), { ...DEFAULT_LIMITS, maxCells: 10 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('row 7');
      expect(err.message).to.match(/limit of 10 cells/);
      expect(pulled).to.equal(6);
    });

    it('streams a 100 MiB body in bounded memory (the body is never buffered whole)', async () => {
      const total = 100 * 1024 * 1024;
      // What the parser keeps reachable, sampled every 64 chunks (4 MiB) after a full collection: a parser that held
      // the body would pass 48 MiB within the first half of it.
      const base = liveHeapBytes();
      let peak = base;
      let rows = 0;
      let chunks = 0;
      async function* body(): AsyncGenerator<Buffer> {
        const pad = 'x'.repeat(1000);
        yield Buffer.from('n,"long text"\n');
        for (let sent = 0; sent < total;) {
          let text = '';
          while (text.length < 65536) {
            const k = rows++ % 3;
            text += rows % 5 === 0 ? `${rows % 1000},"${pad}, ""${k}"""\n` : `${rows % 1000},${pad}${k}\n`;
          }
          const chunk = Buffer.from(text);
          sent += chunk.length;
          if (++chunks % 64 === 0) peak = Math.max(peak, liveHeapBytes());
          yield chunk;
        }
      }
      const t = await parseCsv(body(), { ...DEFAULT_LIMITS, maxBodyBytes: 2 * total });
      peak = Math.max(peak, liveHeapBytes());
      expect(chunks).to.be.greaterThan(1000);
      expect(t.rows).to.equal(rows);
      expect(t.columns[1].levels).to.have.length(6);
      expect(peak - base).to.be.below(48 * 1024 * 1024);
    });

    it('stops at maxCells', async () => {
      const err = await rejection(csv('a,b,c\n1,2,3\n4,5,6\n7,8,9\n', { maxCells: 8 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('row 4');
      expect(err.message).to.match(/limit of 8 cells/);
    });

    it('stops at maxLevels', async () => {
      const err = await rejection(csv('s\na\nb\nc\n', { maxLevels: 2 }));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('column "s"');
    });
  });
});
