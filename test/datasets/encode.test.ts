import { createHash } from 'node:crypto';
import { DomainError, UnprocessableError, ValidationError } from '../../common/errors';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { decodeTable, encodeTable, numericMatrix, tableSha256 } from '../../datasets/encode';
import { DEFAULT_LIMITS } from '../../datasets/limits';
import { parseCsv } from '../../datasets/parse-csv';
import { parseJsonBody, tableFromRows } from '../../datasets/parse-json';
import { parseNdjson } from '../../datasets/parse-ndjson';
import { Table } from '../../datasets/table';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected an error, but none was thrown');
}

const mixed: Table = tableFromRows(
  [
    { id: 1, species: 'setosa', width: 0.25 },
    { id: 2, species: 'virginica', width: -1.5e-7 },
    { id: 3, species: 'setosa', width: 1e300 },
  ],
  DEFAULT_LIMITS,
);

describe('datasets/encode', () => {
  describe('encodeTable / decodeTable', () => {
    it('round-trips number and string columns exactly', () => {
      const decoded = decodeTable(encodeTable(mixed));
      expect(decoded).to.deep.equal(mixed);
      expect(decoded.values).to.be.instanceOf(Float64Array);
    });

    it('round-trips through a copy at an odd offset (not aligned)', () => {
      const enc = encodeTable(mixed);
      const shifted = Buffer.alloc(enc.length + 3);
      enc.copy(shifted, 3);
      expect(decodeTable(shifted.subarray(3))).to.deep.equal(mixed);
    });

    it('lays out a length-prefixed JSON header, then float64 LE values 8-byte aligned', () => {
      const t = tableFromRows([[1.5, -2]], DEFAULT_LIMITS);
      const enc = encodeTable(t);
      const headerLength = enc.readUInt32LE(0);
      expect((4 + headerLength) % 8).to.equal(0);
      expect(JSON.parse(enc.toString('utf8', 4, 4 + headerLength))).to.deep.equal({
        v: 1,
        rows: 1,
        columns: [
          { name: 'x0', type: 'number' },
          { name: 'x1', type: 'number' },
        ],
      });
      expect(enc.length).to.equal(4 + headerLength + 16);
      expect(enc.readDoubleLE(4 + headerLength)).to.equal(1.5);
      expect(enc.readDoubleLE(4 + headerLength + 8)).to.equal(-2);
    });

    it('refuses corrupt encodings', () => {
      const enc = encodeTable(mixed);
      expect(() => decodeTable(enc.subarray(0, 2))).to.throw(/corrupt table encoding/);
      expect(() => decodeTable(enc.subarray(0, enc.length - 8))).to.throw(/need 72 bytes of values, found 64/);
      const badVersion = Buffer.from(enc);
      badVersion.write('{"v":9', 4);
      expect(() => decodeTable(badVersion)).to.throw(/unknown version/);
    });

    it('tableSha256 is the sha256 of the encoding, and differs for different data', () => {
      expect(tableSha256(mixed)).to.equal(createHash('sha256').update(encodeTable(mixed)).digest('hex'));
      const other = tableFromRows([[1, 2]], DEFAULT_LIMITS);
      const swapped = tableFromRows([[2, 1]], DEFAULT_LIMITS);
      expect(tableSha256(other)).to.not.equal(tableSha256(swapped));
    });
  });

  describe('the same data in any format hashes identically', () => {
    it('numbers: JSON arrays, CSV, NDJSON arrays', async () => {
      const rows = [
        [1, 2.5, -3],
        [4e-5, 0, 6e10],
        [-0.125, 8, 9],
      ];
      const json = await parseJsonBody(chunks(JSON.stringify({ name: 'n', data: rows })), DEFAULT_LIMITS);
      const csv = await parseCsv(
        chunks('x0,x1,x2\r\n1,2.5,-3\r\n0.00004,0,6e10\r\n-0.125,"8",9.0\r\n'),
        DEFAULT_LIMITS,
      );
      const ndjson = await parseNdjson(chunks(rows.map((r) => JSON.stringify(r)).join('\n')), DEFAULT_LIMITS);
      const hash = tableSha256(json.table);
      expect(tableSha256(csv)).to.equal(hash);
      expect(tableSha256(ndjson)).to.equal(hash);
      expect(encodeTable(csv).equals(encodeTable(json.table))).to.equal(true);
    });

    it('numbers and strings: JSON objects, CSV, NDJSON objects (keys in any order)', async () => {
      const json = await parseJsonBody(
        chunks(
          JSON.stringify({
            data: [
              { h: 1, sp: 'cat, tabby' },
              { sp: 'dog "rex"', h: -0 },
              { h: 3, sp: 'cat, tabby' },
            ],
          }),
        ),
        DEFAULT_LIMITS,
      );
      const csv = await parseCsv(chunks('h,sp\n1,"cat, tabby"\n0,"dog ""rex"""\n3,"cat, tabby"\n'), DEFAULT_LIMITS);
      const ndjson = await parseNdjson(
        chunks('{"h":1,"sp":"cat, tabby"}\n{"sp":"dog \\"rex\\"","h":0}\n{"sp":"cat, tabby","h":3}\n'),
        DEFAULT_LIMITS,
      );
      expect(json.table.columns[1].levels).to.deep.equal(['cat, tabby', 'dog "rex"']);
      expect(tableSha256(csv)).to.equal(tableSha256(json.table));
      expect(tableSha256(ndjson)).to.equal(tableSha256(json.table));
    });
  });

  describe('numericMatrix', () => {
    const t = tableFromRows(
      [
        { a: 1, s: 'x', b: 2 },
        { a: 3, s: 'y', b: 4 },
      ],
      DEFAULT_LIMITS,
    );

    it('returns the requested number columns row-major as float32', () => {
      const m = numericMatrix(t, ['b', 'a']);
      expect(m.n).to.equal(2);
      expect(m.d).to.equal(2);
      expect(m.values).to.be.instanceOf(Float32Array);
      expect(Array.from(m.values)).to.deep.equal([2, 1, 4, 3]);
    });

    it('defaults to all columns', () => {
      const numeric = tableFromRows(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        DEFAULT_LIMITS,
      );
      const m = numericMatrix(numeric);
      expect([m.n, m.d]).to.deep.equal([3, 2]);
      expect(Array.from(m.values)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it('refuses a string column with 422, naming it', () => {
      const err = thrown(() => numericMatrix(t, ['a', 's']));
      expect(err).to.be.instanceOf(UnprocessableError);
      expect(httpStatusOf(err)).to.equal(422);
      expect(err.field).to.equal('columns[1]');
      expect(err.message).to.match(/column "s" is a string/);
      const all = thrown(() => numericMatrix(t));
      expect([httpStatusOf(all), all.field]).to.deep.equal([422, 'column "s"']);
    });

    it('refuses an unknown column with 422, naming it and listing the columns', () => {
      const err = thrown(() => numericMatrix(t, ['a', 'nope']));
      expect([httpStatusOf(err), err.field]).to.deep.equal([422, 'columns[1]']);
      expect(err.message).to.match(/column "nope" does not exist; the dataset's columns are "a", "s", "b"/);
    });

    it('refuses values outside the float32 range', () => {
      const err = thrown(() => numericMatrix(mixed, ['id', 'width']));
      expect([httpStatusOf(err), err.field]).to.deep.equal([422, 'columns[1]']);
      expect(err.message).to.match(/column "width" has a value outside the float32 range \(1e\+300 in row 3\)/);
    });

    it('refuses an empty or repeating column list with 400', () => {
      const empty = thrown(() => numericMatrix(t, []));
      expect(empty).to.be.instanceOf(ValidationError);
      expect(empty.field).to.equal('columns');
      const twice = thrown(() => numericMatrix(t, ['a', 'b', 'a']));
      expect([httpStatusOf(twice), twice.field]).to.deep.equal([400, 'columns[2]']);
    });
  });
});

describe('datasets/encode: numericMatrix refuses columns float32 cannot resolve (checkResolution)', () => {
  const matrixOf = (rows: number[][]) =>
    numericMatrix(tableFromRows(rows, DEFAULT_LIMITS), undefined, { checkResolution: true });

  it('refuses points 1 apart near 1e9 (they merge in float32), naming the column and what to do', () => {
    const rows = [
      ...Array.from({ length: 5 }, () => [1e9, 1e9]),
      ...Array.from({ length: 5 }, () => [1e9 + 1, 1e9]),
      ...Array.from({ length: 5 }, () => [1e9, 1e9 + 1]),
    ];
    const err = (() => {
      try {
        matrixOf(rows);
      } catch (e) {
        return e as DomainError;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(UnprocessableError);
    expect(err!.field).to.equal('column "x0"');
    expect(err!.message).to.match(/far from zero compared with its spread.*Subtract an offset/);
  });

  it('refuses clusters 0.1 apart with spread 0.01 near 1e6 (float32 spacing there is 0.0625)', () => {
    const rows = Array.from({ length: 60 }, (_, i) => [1e6 + (i % 2) * 0.1 + ((i * 7) % 5) * 0.004, 1e6]);
    expect(() => matrixOf(rows)).to.throw(UnprocessableError, /column "x0"/);
  });

  it('accepts ordinary data, constant columns, and coordinates far out whose spread is large enough', () => {
    expect(
      matrixOf([
        [0, 5],
        [0.01, 5],
        [1000, 5],
        [1000.01, 5],
      ]).n,
    ).to.equal(4);
    expect(matrixOf([[1e20], [1.1e20], [5e20], [5.1e20]]).n).to.equal(4);
    expect(
      matrixOf([
        [45.1, 1.7e9],
        [45.2, 1.8e9],
        [45.3, 1.75e9],
      ]).n,
    ).to.equal(3);
  });

  it('checks nothing unless asked (batch predict and evaluation convert as before)', () => {
    expect(numericMatrix(tableFromRows([[1e9], [1e9 + 1]], DEFAULT_LIMITS)).n).to.equal(2);
  });
});
