/**
 * The canonical binary encoding of a Table, used for storage and for the dataset's identity (its sha256): the same
 * data uploaded as JSON, CSV or NDJSON encodes to the same bytes.
 *
 * Layout:
 *   uint32 LE   header length H (bytes)
 *   H bytes     UTF-8 JSON `{"v":1,"rows":R,"columns":[{"name":..,"type":"number"},{"name":..,"type":"string","levels":[..]}]}`,
 *               keys in that order, padded with spaces so that the values start at a multiple of 8 bytes
 *   R × C × 8   the values, row-major float64 little-endian
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { UnprocessableError, ValidationError } from '../common/errors';
import { ColumnSpec, Table } from './table';

export const TABLE_ENCODING_VERSION = 1;

const LITTLE_ENDIAN = endianness() === 'LE';

function checkShape(table: Table): void {
  const expected = table.rows * table.columns.length;
  if (!Number.isSafeInteger(table.rows) || table.rows < 0 || table.values.length !== expected) {
    throw new Error(
      `invalid table: ${table.rows} rows × ${table.columns.length} columns but ${table.values.length} values`,
    );
  }
}

function headerBytes(table: Table): Buffer {
  const columns = table.columns.map((c): ColumnSpec =>
    c.type === 'string' ? { name: c.name, type: 'string', levels: c.levels ?? [] } : { name: c.name, type: 'number' },
  );
  const json = JSON.stringify({ v: TABLE_ENCODING_VERSION, rows: table.rows, columns });
  const length = Buffer.byteLength(json, 'utf8');
  return Buffer.from(json + ' '.repeat((8 - ((4 + length) % 8)) % 8), 'utf8');
}

function lengthPrefix(header: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(header.length, 0);
  return prefix;
}

/** The values' bytes, float64 LE: a view of the array on little-endian machines, a copy otherwise. */
function valueBytes(values: Float64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i], i * 8);
  return out;
}

/** The canonical encoding of `table`. */
export function encodeTable(table: Table): Buffer {
  checkShape(table);
  const header = headerBytes(table);
  return Buffer.concat([lengthPrefix(header), header, valueBytes(table.values)]);
}

/** sha256 (hex) of encodeTable(table), computed without building the encoding. */
export function tableSha256(table: Table): string {
  checkShape(table);
  const header = headerBytes(table);
  return createHash('sha256')
    .update(lengthPrefix(header))
    .update(header)
    .update(valueBytes(table.values))
    .digest('hex');
}

function corrupt(why: string): Error {
  return new Error(`corrupt table encoding: ${why}`);
}

/** The Table encoded in `buf` (its values are copied out of `buf`). Throws a plain Error if `buf` is malformed. */
export function decodeTable(buf: Uint8Array): Table {
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length < 4) throw corrupt(`${bytes.length} bytes, too short for a header`);
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length)
    throw corrupt(`header of ${headerLength} bytes but only ${bytes.length - 4} follow`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8', 4, 4 + headerLength));
  } catch (err) {
    throw corrupt(`header is not JSON (${(err as Error).message})`);
  }
  const h = header as { v?: unknown; rows?: unknown; columns?: unknown };
  if (h === null || typeof h !== 'object' || h.v !== TABLE_ENCODING_VERSION)
    throw corrupt(`unknown version ${JSON.stringify(h?.v)}`);
  const rows = h.rows;
  if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 0)
    throw corrupt(`bad row count ${JSON.stringify(rows)}`);
  if (!Array.isArray(h.columns)) throw corrupt('columns is not an array');
  const columns: ColumnSpec[] = h.columns.map((c: unknown, j: number): ColumnSpec => {
    const col = c as Partial<ColumnSpec> | null;
    if (col === null || typeof col !== 'object' || typeof col.name !== 'string')
      throw corrupt(`column ${j} has no name`);
    if (col.type === 'number') return { name: col.name, type: 'number' };
    if (col.type === 'string' && Array.isArray(col.levels) && col.levels.every((l) => typeof l === 'string')) {
      return { name: col.name, type: 'string', levels: col.levels };
    }
    throw corrupt(`column ${j} has a bad type or levels`);
  });
  const count = rows * columns.length;
  const offset = 4 + headerLength;
  if (bytes.length - offset !== count * 8) {
    throw corrupt(
      `${rows} rows × ${columns.length} columns need ${count * 8} bytes of values, found ${bytes.length - offset}`,
    );
  }
  const values = new Float64Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(bytes.subarray(offset));
  else for (let i = 0; i < count; i++) values[i] = bytes.readDoubleLE(offset + i * 8);
  return { columns, rows, values };
}

/**
 * The requested columns (default: all, in table order) as a row-major Float32Array of n rows × d columns, for the ML
 * code. A requested column that does not exist or is a string column, or a value outside the float32 range, is an
 * UnprocessableError whose message names the column; its field is `columns[i]` for an explicitly requested
 * column, `column "x"` otherwise. An empty or repeating `columns` list is a ValidationError (field `columns`).
 */
export function numericMatrix(
  table: Table,
  columns?: string[],
  options: { checkResolution?: boolean } = {},
): { values: Float32Array; n: number; d: number } {
  checkShape(table);
  const names = columns ?? table.columns.map((c) => c.name);
  const fieldOf = (i: number): string => (columns ? `columns[${i}]` : `column ${JSON.stringify(names[i])}`);
  if (columns) {
    if (columns.length === 0) throw new ValidationError('columns must name at least one column', 'columns');
    const seen = new Set<string>();
    columns.forEach((name, i) => {
      if (seen.has(name)) throw new ValidationError(`columns names ${JSON.stringify(name)} more than once`, fieldOf(i));
      seen.add(name);
    });
  }
  const byName = new Map(table.columns.map((c, j) => [c.name, j]));
  const indexes = names.map((name, i) => {
    const j = byName.get(name);
    if (j === undefined) {
      const known = table.columns
        .slice(0, 20)
        .map((c) => JSON.stringify(c.name))
        .join(', ');
      const more = table.columns.length > 20 ? `, ... (${table.columns.length} in all)` : '';
      throw new UnprocessableError(
        `column ${JSON.stringify(name)} does not exist; the dataset's columns are ${known}${more}`,
        fieldOf(i),
      );
    }
    if (table.columns[j].type !== 'number') {
      throw new UnprocessableError(
        `column ${JSON.stringify(name)} is a string (categorical) column; only number columns can be used here`,
        fieldOf(i),
      );
    }
    return j;
  });
  const n = table.rows;
  const d = indexes.length;
  const stride = table.columns.length;
  const src = table.values;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const from = r * stride;
    const to = r * d;
    for (let k = 0; k < d; k++) {
      const v = src[from + indexes[k]];
      const f = Math.fround(v);
      if (f === Infinity || f === -Infinity) {
        throw new UnprocessableError(
          `column ${JSON.stringify(names[k])} has a value outside the float32 range (${v} in row ${r + 1})`,
          fieldOf(k),
        );
      }
      out[to + k] = f;
    }
  }
  if (options.checkResolution) {
    indexes.forEach((j, k) => assertFloat32Resolution(src, stride, j, n, names[k], fieldOf(k)));
  }
  return { values: out, n, d };
}

/**
 * Largest float32 rounding of a column, relative to its standard deviation, that numericMatrix's `checkResolution`
 * accepts: 1 %. Float32 keeps 24 significant bits, so a value v is rounded by up to |v|·2^-24; a column far from zero
 * compared with its spread (points 1 apart near 1e9, clusters 0.1 apart near 1e6) loses the very differences a
 * clustering is about: points merge, and distances, inertia and quality metrics come out wrong without any sign.
 */
export const MAX_FLOAT32_ROUNDING_OF_SPREAD = 0.01;

/**
 * Refuses (UnprocessableError naming the column) a number column whose float32 rounding exceeds
 * MAX_FLOAT32_ROUNDING_OF_SPREAD of its standard deviation (computed in float64). Constant columns pass.
 */
function assertFloat32Resolution(
  values: ArrayLike<number>,
  stride: number,
  column: number,
  n: number,
  name: string,
  field: string,
): void {
  let mean = 0;
  let maxAbs = 0;
  for (let r = 0; r < n; r++) {
    const v = values[r * stride + column];
    mean += v;
    if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  }
  mean /= n;
  let sq = 0;
  for (let r = 0; r < n; r++) {
    const e = values[r * stride + column] - mean;
    sq += e * e;
  }
  const std = Math.sqrt(sq / n);
  const rounding = maxAbs * 2 ** -24;
  if (std > 0 && rounding > MAX_FLOAT32_ROUNDING_OF_SPREAD * std) {
    throw new UnprocessableError(
      `column ${JSON.stringify(name)} lies far from zero compared with its spread (values up to ${maxAbs.toPrecision(3)}, ` +
        `standard deviation ${std.toPrecision(3)}): float32, which clustering computes in, rounds its values by up to ` +
        `${rounding.toPrecision(3)}, more than ${MAX_FLOAT32_ROUNDING_OF_SPREAD * 100} % of the spread, so nearby points ` +
        'would merge and distances and quality metrics would be wrong. Subtract an offset (e.g. the column mean) ' +
        'before uploading',
      field,
    );
  }
}
