/**
 * Builds the canonical Table one row at a time, for every format: infers column types, checks shape and limits as
 * each row arrives (so an oversized upload stops at the first row past a limit), and grows its storage geometrically.
 */
import { MAX_COLUMN_NAMES_BYTES } from '../common/dataset-limits';
import { PayloadTooLargeError, ValidationError } from '../common/errors';
import { isStorableText, unstorableMessage } from '../common/storable-text';
import { DatasetLimits, formatCount } from './limits';
import { ColumnSpec, Table } from './table';

/** How a format names the place of an error in the `field` of the error it throws. */
export interface FieldNamer {
  /** A whole row, from the row's label (an index, a line number...). */
  row(label: number): string;
  /** One cell; `keyed` when the row is an object and `name` is its key. */
  cell(label: number, column: number, name: string, keyed: boolean): string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `data[3]` + `height` → `data[3].height`; a key that is not an identifier → `data[3]["body mass"]`. */
export function keyPath(base: string, key: string): string {
  return IDENTIFIER.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** The field naming a whole column: `column "x"`. */
export function columnField(name: string): string {
  return `column ${JSON.stringify(name)}`;
}

/** JSON arrays of rows: `data[3]`, `data[3][1]`, `data[3].height` (row labels are 0-based indexes). */
export function jsonFieldNamer(base = 'data'): FieldNamer {
  return {
    row: (i) => `${base}[${i}]`,
    cell: (i, j, name, keyed) => (keyed ? keyPath(`${base}[${i}]`, name) : `${base}[${i}][${j}]`),
  };
}

/** NDJSON: `line 7`, `line 7[1]`, `line 7.height` (row labels are 1-based line numbers). */
export const NDJSON_FIELDS: FieldNamer = {
  row: (n) => `line ${n}`,
  cell: (n, j, name, keyed) => (keyed ? keyPath(`line ${n}`, name) : `line ${n}[${j}]`),
};

/** CSV: `row 7`, `row 7, column "height"` (row labels are 1-based line numbers; the header is row 1). */
export const CSV_FIELDS: FieldNamer = {
  row: (n) => `row ${n}`,
  cell: (n, _j, name) => `row ${n}, column ${JSON.stringify(name)}`,
};

export interface TableBuilderOptions {
  /** How rows and cells are named in errors; default `jsonFieldNamer('data')`. */
  namer?: FieldNamer;
  /** The field naming the whole table (an empty table's error); default `data`. */
  field?: string;
}

const UNSET = 0;
const NUMBER = 1;
const STRING = 2;
const ARRAY_ROWS = 1;
const OBJECT_ROWS = 2;

const NON_FINITE_WORDS = new Set(['nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity']);

function isNonFiniteWord(t: string): boolean {
  return t.length <= 9 && NON_FINITE_WORDS.has(t.toLowerCase());
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k); // exact doubles 1e0..1e22

/**
 * Fast path for the common cell: `[+-]digits[.digits][(e|E)[+-]digits]` with at most 15 significant digits and a
 * decimal exponent within ±22, where mantissa and power of ten are exact doubles, so one multiplication or division
 * rounds correctly (Clinger's fast path) and the result equals Number(t). NaN when the cell t[start, end) is not of
 * that form. (Its loops stop at any character that cannot continue a number, such as the `,` that ends a CSV cell.)
 */
function fastDecimal(t: string, start = 0, end = t.length): number {
  let i = start;
  let c = t.charCodeAt(i);
  const negative = c === 45;
  if (negative || c === 43) c = t.charCodeAt(++i);
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  while (c >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    digits++;
    c = t.charCodeAt(++i);
  }
  if (c === 46) {
    c = t.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      scale--;
      c = t.charCodeAt(++i);
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  if (c === 101 || c === 69) {
    c = t.charCodeAt(++i);
    const negativeExponent = c === 45;
    if (negativeExponent || c === 43) c = t.charCodeAt(++i);
    let exponent = 0;
    let expDigits = 0;
    while (c >= 48 && c <= 57 && expDigits < 4) {
      exponent = exponent * 10 + (c - 48);
      expDigits++;
      c = t.charCodeAt(++i);
    }
    if (expDigits === 0) return NaN;
    scale += negativeExponent ? -exponent : exponent;
  }
  if (i !== end || scale < -22 || scale > 22) return NaN;
  const value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
  return negative ? -value : value;
}

/**
 * The number a trimmed, non-empty CSV cell spells in standard decimal/exponent syntax (`12`, `-0.5`, `+.5e-3`, `5.`);
 * NaN if it is not a number (a string cell: `abc`, `0x1F`, `1,5`); ±Infinity if it spells a non-finite number
 * (`NaN`, `inf`, `-Infinity`, `1e999`; case-insensitive). The value is exactly what JSON.parse would give.
 */
export function parseTextNumber(t: string): number {
  const fast = fastDecimal(t);
  if (fast === fast) return fast;
  const c0 = t.charCodeAt(0);
  if (c0 === 48 /* 0 */) {
    const c1 = t.charCodeAt(1) | 32;
    if (c1 === 120 /* x */ || c1 === 111 /* o */ || c1 === 98 /* b */) return NaN; // Number() would read 0x/0o/0b
    return Number(t);
  }
  if ((c0 >= 49 && c0 <= 57) || c0 === 45 /* - */ || c0 === 43 /* + */ || c0 === 46 /* . */) {
    const n = Number(t);
    return n !== n && isNonFiniteWord(t) ? Infinity : n;
  }
  const lower = c0 | 32;
  if ((lower === 105 /* i */ || lower === 110) /* n */ && isNonFiniteWord(t)) return Infinity;
  return NaN;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${quote(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean')
    return `${typeof v === 'number' ? 'the number' : 'the boolean'} ${String(v)}`;
  return typeof v;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Accumulates rows into a Table.
 *
 * - Rows are arrays of cells (`addRow([..])`, or `addTextRow` for CSV text cells) or objects keyed by column name
 *   (`addRow({..})`); every row of a table has the same form.
 * - Column names: set by `setColumnNames` (a CSV header), else the keys of the first object row, else `x0, x1, ...`.
 *   Every object row must have exactly the columns' keys.
 * - Types: the first row fixes each column's type (a number cell: `number`; a string cell: `string`, categorical);
 *   a later cell of the other type is an error naming the column. Numbers must be finite; -0 is stored as 0.
 * - Levels of a string column are its distinct strings in order of first appearance.
 * - Strings (cells and column names) must be text Postgres can store: NUL or a lone surrogate is a ValidationError
 *   naming the cell or column (common/storable-text.ts). A cell is checked once per distinct string, when it becomes a
 *   level, so the check costs nothing per repeated value.
 * - Limits: maxColumns when the columns are known, maxRows / maxCells at the first row past them, maxLevels at the
 *   first new string past it: PayloadTooLargeError naming the limit.
 * - Other problems are ValidationError whose field names the row or cell (see FieldNamer) or column.
 *
 * A builder that threw is not usable again.
 */
export class TableBuilder {
  private readonly namer: FieldNamer;
  private readonly field: string;
  private names: string[] | undefined;
  private nameIndex = new Map<string, number>();
  private ncols = 0;
  private rowForm = UNSET;
  private firstLabel = 0;
  private types = new Uint8Array(0);
  private levelMaps: Array<Map<string, number> | undefined> = [];
  private levelLists: Array<string[] | undefined> = [];
  private data = new Float64Array(0);
  private used = 0;
  private nrows = 0;
  private finished = false;

  constructor(
    private readonly limits: DatasetLimits,
    options: TableBuilderOptions = {},
  ) {
    this.namer = options.namer ?? jsonFieldNamer('data');
    this.field = options.field ?? 'data';
  }

  /** Rows added so far. */
  get rowCount(): number {
    return this.nrows;
  }

  /** Columns, once known (0 before the first row or setColumnNames). */
  get columnCount(): number {
    return this.ncols;
  }

  /** Whether one more row fits under maxRows and maxCells (with the columns known so far). */
  hasRoomForRow(): boolean {
    return this.nrows < this.limits.maxRows && this.used + this.ncols <= this.limits.maxCells;
  }

  /**
   * Throws the PayloadTooLargeError (413, naming row `label`) that adding one more row would throw for maxRows or
   * maxCells, so a streaming parser can refuse a row it has seen before it has split it into cells.
   */
  checkRoomForRow(label: number): void {
    const { maxRows, maxCells } = this.limits;
    if (this.nrows >= maxRows) {
      throw new PayloadTooLargeError(
        `too many rows: more than the limit of ${formatCount(maxRows)} rows`,
        this.namer.row(label),
      );
    }
    if (this.used + this.ncols > maxCells) {
      throw new PayloadTooLargeError(
        `too many cells: ${formatCount(this.nrows + 1)} rows × ${formatCount(this.ncols)} columns is more than the limit of ${formatCount(maxCells)} cells`,
        this.namer.row(label),
      );
    }
  }

  /**
   * Names the columns before any row (a CSV header). Names must be non-empty and unique; their count must be 1 to
   * maxColumns. `field` names the header in errors about it as a whole.
   */
  setColumnNames(names: readonly string[], field = this.field): void {
    if (this.names !== undefined) throw new Error('TableBuilder: columns are already defined');
    if (names.length === 0) throw new ValidationError('the table has no columns; it needs at least one', field);
    this.checkColumnCount(names.length, field, 'the header names');
    const seen = new Map<string, number>();
    names.forEach((name, j) => {
      if (name.trim().length === 0) throw new ValidationError(`column ${j + 1} of the header has an empty name`, field);
      const before = seen.get(name);
      if (before !== undefined) {
        throw new ValidationError(
          `duplicate column name ${quote(name)} (columns ${before + 1} and ${j + 1})`,
          columnField(name),
        );
      }
      seen.set(name, j);
      if (!isStorableText(name)) {
        throw new ValidationError(`column ${j + 1} of the header ${unstorableMessage(name)}`, columnField(name));
      }
    });
    this.checkColumnNames(names, field);
    this.defineColumns([...names]);
  }

  /** Adds a JSON row: an array of cells or an object keyed by column name. `label` names it in errors. */
  addRow(row: unknown, label: number = this.nrows): void {
    if (Array.isArray(row)) this.addArrayRow(row, label);
    else if (row !== null && typeof row === 'object') this.addObjectRow(row as Record<string, unknown>, label);
    else {
      const where = this.namer.row(label);
      throw new ValidationError(
        `${where} is ${describeValue(row)}; a row must be an array of cells or an object keyed by column name`,
        where,
      );
    }
  }

  /**
   * Adds a row of text cells (CSV): a cell that is a finite number in standard decimal/exponent syntax (whitespace
   * around it ignored) is a number, `NaN`/`Infinity`/`inf`/`1e999`... are refused as non-finite, an empty or blank
   * cell is a missing value (refused), anything else is a string (kept as is).
   */
  addTextRow(cells: readonly string[], label: number = this.nrows): void {
    const n = cells.length;
    if (this.rowForm !== ARRAY_ROWS) this.startForm(ARRAY_ROWS, label, n, false);
    if (n !== this.ncols) this.ragged(label, n);
    const base = this.beginRow(label);
    for (let j = 0; j < n; j++) this.putText(cells[j], j, base, label);
    this.commitRow();
  }

  /**
   * Same as `addTextRow(line.split(','), label)` (for a CSV line without quotes), but parses number cells in place
   * without splitting the line into strings first.
   */
  addUnquotedLine(line: string, label: number = this.nrows): void {
    if (this.rowForm !== ARRAY_ROWS) {
      this.addTextRow(line.split(','), label);
      return;
    }
    const ncols = this.ncols;
    const last = ncols - 1;
    const base = this.beginRow(label);
    const data = this.data;
    const types = this.types;
    let from = 0;
    for (let j = 0; j < ncols; j++) {
      let to = line.indexOf(',', from);
      if (j === last) {
        if (to !== -1) this.ragged(label, line.split(',').length);
        to = line.length;
      } else if (to === -1) {
        this.ragged(label, j + 1);
      }
      const v = fastDecimal(line, from, to);
      if (v === v) {
        if (types[j] !== NUMBER) this.setType(j, NUMBER, label, false, v);
        data[base + j] = v + 0; // -0 → 0
      } else {
        this.putText(line.slice(from, to), j, base, label);
      }
      from = to + 1;
    }
    this.commitRow();
  }

  /** The table. Throws ValidationError (the builder's field) if no row was added. */
  finish(): Table {
    if (this.finished) throw new Error('TableBuilder: finish() was already called');
    if (this.nrows === 0) {
      throw new ValidationError(`${this.field} has no rows; a dataset needs at least one row`, this.field);
    }
    this.finished = true;
    const columns: ColumnSpec[] = this.names!.map((name, j) =>
      this.types[j] === STRING ? { name, type: 'string', levels: this.levelLists[j]! } : { name, type: 'number' },
    );
    const values = this.used === this.data.length ? this.data : this.data.slice(0, this.used);
    this.data = new Float64Array(0);
    return { columns, rows: this.nrows, values };
  }

  private putText(s: string, j: number, base: number, label: number): void {
    let t = s;
    const first = s.charCodeAt(0);
    const last = s.charCodeAt(s.length - 1);
    if (!(first > 32 && first < 127 && last > 32 && last < 127)) {
      t = s.trim();
      if (t.length === 0) {
        const where = this.namer.cell(label, j, this.names![j], false);
        throw new ValidationError(`${where} is empty; missing values are not supported`, where);
      }
    }
    const v = parseTextNumber(t);
    if (v - v === 0) {
      if (this.types[j] !== NUMBER) this.setType(j, NUMBER, label, false, v);
      this.data[base + j] = v + 0; // -0 → 0
    } else if (v !== v) {
      if (this.types[j] !== STRING) this.setType(j, STRING, label, false, s);
      this.data[base + j] = this.level(j, s, label, false);
    } else {
      const where = this.namer.cell(label, j, this.names![j], false);
      throw new ValidationError(
        `${where} is ${quote(t)}, which is not a finite number; NaN and ±Infinity are not allowed`,
        where,
      );
    }
  }

  private addArrayRow(row: unknown[], label: number): void {
    const n = row.length;
    if (this.rowForm !== ARRAY_ROWS) this.startForm(ARRAY_ROWS, label, n, false);
    if (n !== this.ncols) this.ragged(label, n);
    const base = this.beginRow(label);
    for (let j = 0; j < n; j++) this.putValue(row[j], j, base, label, false);
    this.commitRow();
  }

  private addObjectRow(row: Record<string, unknown>, label: number): void {
    let keys: string[] | undefined;
    if (this.rowForm !== OBJECT_ROWS) {
      keys = Object.keys(row);
      this.startForm(OBJECT_ROWS, label, keys.length, true, keys);
    }
    const base = this.beginRow(label);
    const names = this.names!;
    for (let j = 0; j < names.length; j++) {
      const name = names[j];
      if (!Object.hasOwn(row, name)) {
        const where = keyPath(this.namer.row(label), name);
        throw new ValidationError(
          `${this.namer.row(label)} has no key ${quote(name)}; every row needs the same keys as the first`,
          where,
        );
      }
      this.putValue(row[name], j, base, label, true);
    }
    keys ??= Object.keys(row);
    if (keys.length !== names.length) {
      const extra = keys.find((k) => !this.nameIndex.has(k)) ?? keys[0];
      const where = keyPath(this.namer.row(label), extra);
      throw new ValidationError(
        `${this.namer.row(label)} has an unexpected key ${quote(extra)}; every row needs exactly the keys of the first`,
        where,
      );
    }
    this.commitRow();
  }

  /** The first row fixes the rows' form, and (unless setColumnNames did) the columns. */
  private startForm(form: number, label: number, n: number, keyed: boolean, keys?: string[]): void {
    const where = this.namer.row(label);
    if (this.rowForm !== UNSET) {
      const was = this.rowForm === ARRAY_ROWS ? 'arrays' : 'objects';
      throw new ValidationError(
        `${where} is ${keyed ? 'an object' : 'an array'} but the rows before it are ${was}; all rows must have the same form`,
        where,
      );
    }
    this.rowForm = form;
    this.firstLabel = label;
    if (this.names !== undefined) return;
    if (n === 0)
      throw new ValidationError(
        `${where} has no ${keyed ? 'keys' : 'cells'}; a table needs at least one column`,
        where,
      );
    this.checkColumnCount(n, where, `${where} has`);
    if (keys) {
      for (const key of keys) {
        if (key.trim().length === 0) throw new ValidationError('column names must not be empty', keyPath(where, key));
        if (!isStorableText(key)) {
          throw new ValidationError(`the column name ${quote(key)} ${unstorableMessage(key)}`, keyPath(where, key));
        }
      }
      this.checkColumnNames(keys, where);
      this.defineColumns(keys);
    } else {
      this.defineColumns(Array.from({ length: n }, (_, j) => `x${j}`));
    }
  }

  private checkColumnCount(n: number, field: string, what: string): void {
    if (n > this.limits.maxColumns) {
      throw new PayloadTooLargeError(
        `too many columns: ${what} ${formatCount(n)} columns, over the limit of ${formatCount(this.limits.maxColumns)}`,
        field,
      );
    }
  }

  /** The names of a table's columns take at most MAX_COLUMN_NAMES_BYTES as JSON (413 past it). */
  private checkColumnNames(names: readonly string[], field: string): void {
    const bytes = Buffer.byteLength(JSON.stringify(names), 'utf8');
    if (bytes > MAX_COLUMN_NAMES_BYTES) {
      throw new PayloadTooLargeError(
        `the column names take ${formatCount(bytes)} bytes as JSON, over the limit of ${formatCount(MAX_COLUMN_NAMES_BYTES)} bytes for all of a table's names; use shorter names`,
        field,
      );
    }
  }

  private defineColumns(names: string[]): void {
    this.names = names;
    this.ncols = names.length;
    this.nameIndex = new Map(names.map((name, j) => [name, j]));
    this.types = new Uint8Array(names.length);
    this.levelMaps = new Array(names.length).fill(undefined);
    this.levelLists = new Array(names.length).fill(undefined);
  }

  private ragged(label: number, n: number): never {
    const where = this.namer.row(label);
    throw new ValidationError(
      `${where} has ${formatCount(n)} cell${n === 1 ? '' : 's'} but the table has ${formatCount(this.ncols)} column${this.ncols === 1 ? '' : 's'}; every row needs one cell per column`,
      where,
    );
  }

  /** Checks the row and cell limits for one more row, makes room, and returns the row's first cell index. */
  private beginRow(label: number): number {
    if (this.finished) throw new Error('TableBuilder: rows added after finish()');
    this.checkRoomForRow(label);
    const needed = this.used + this.ncols;
    if (needed > this.data.length) this.grow(needed);
    return this.used;
  }

  private commitRow(): void {
    this.used += this.ncols;
    this.nrows++;
  }

  private grow(needed: number): void {
    let capacity = Math.max(this.data.length * 2, this.ncols * 64, 1024);
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, this.limits.maxCells);
    const next = new Float64Array(capacity);
    next.set(this.data.subarray(0, this.used));
    this.data = next;
  }

  private putValue(v: unknown, j: number, base: number, label: number, keyed: boolean): void {
    if (typeof v === 'number') {
      if (v - v !== 0) {
        const where = this.namer.cell(label, j, this.names![j], keyed);
        throw new ValidationError(`${where} is ${String(v)}; numbers must be finite`, where);
      }
      if (this.types[j] !== NUMBER) this.setType(j, NUMBER, label, keyed, v);
      this.data[base + j] = v + 0; // -0 → 0, so "-0" and "0" are the same data
    } else if (typeof v === 'string') {
      if (this.types[j] !== STRING) this.setType(j, STRING, label, keyed, v);
      this.data[base + j] = this.level(j, v, label, keyed);
    } else {
      const where = this.namer.cell(label, j, this.names![j], keyed);
      throw new ValidationError(`${where} is ${describeValue(v)}; a cell must be a number or a string`, where);
    }
  }

  /** The first row sets a column's type; after that a cell of the other type mixes the column. */
  private setType(j: number, type: number, label: number, keyed: boolean, v: string | number): void {
    const name = this.names![j];
    if (this.types[j] === UNSET) {
      this.types[j] = type;
      if (type === STRING) {
        this.levelMaps[j] = new Map();
        this.levelLists[j] = [];
      }
      return;
    }
    const first = this.namer.cell(this.firstLabel, j, name, keyed);
    const here = this.namer.cell(label, j, name, keyed);
    const firstKind = this.types[j] === NUMBER ? 'a number' : 'a string';
    const value = typeof v === 'number' ? `the number ${v}` : `the string ${quote(v)}`;
    throw new ValidationError(
      `column ${quote(name)} mixes numbers and strings: ${first} is ${firstKind} but ${here} is ${value}; a column must be all numbers or all strings`,
      columnField(name),
    );
  }

  /**
   * The level of string `s` in column `j`, added when new. A new string is checked once, here, before it is kept: NUL
   * or a lone surrogate (which Postgres cannot store) is a ValidationError naming the cell of row `label`.
   */
  private level(j: number, s: string, label: number, keyed: boolean): number {
    const map = this.levelMaps[j]!;
    let index = map.get(s);
    if (index === undefined) {
      if (!isStorableText(s)) {
        const where = this.namer.cell(label, j, this.names![j], keyed);
        throw new ValidationError(`${where} ${unstorableMessage(s)}`, where);
      }
      index = map.size;
      if (index >= this.limits.maxLevels) {
        const name = this.names![j];
        throw new PayloadTooLargeError(
          `column ${quote(name)} has more than the limit of ${formatCount(this.limits.maxLevels)} distinct strings`,
          columnField(name),
        );
      }
      map.set(s, index);
      this.levelLists[j]!.push(s);
    }
    return index;
  }
}
