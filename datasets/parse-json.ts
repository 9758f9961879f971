/**
 * JSON uploads, `{ "name"?: string, "data": rows }`, and the inline `data` of other requests. An upload is parsed as
 * it streams in (see JsonTokenizer): each row is handed to the TableBuilder the moment it closes, so the limits stop
 * an oversized upload at the first byte or row past them, and nothing is held but the row being read and the table.
 */
import { PayloadTooLargeError, ValidationError } from '../common/errors';
import { isStorableText, unstorableMessage } from '../common/storable-text';
import { JsonHandler, JsonScalar, JsonSyntaxError, JsonTokenizer } from './json-tokenizer';
import { DatasetLimits, formatCount } from './limits';
import { BODY_FIELD, ByteSource, limitedStream } from './read-body';
import { Table } from './table';
import { jsonFieldNamer, TableBuilder } from './table-builder';

/** Dataset names: 1 to 200 characters (UTF-16 code units, as in the API's schemas), without NUL or lone surrogates. */
export const MAX_NAME_LENGTH = 200;

export interface JsonDatasetBody {
  name?: string;
  table: Table;
}

/**
 * Turns already-parsed JSON rows into a Table: `data` must be an array of rows, each an array of cells (columns
 * `x0, x1, ...`) or an object keyed by column name (the first row's keys). Errors name `field` (`data`), a row
 * (`data[3]`) or a cell (`data[3][1]`, `data[3].height`), or a column (`column "x"`). See TableBuilder for the rules.
 */
export function tableFromRows(data: unknown, limits: DatasetLimits, field = 'data'): Table {
  if (!Array.isArray(data)) {
    throw new ValidationError(
      data === undefined
        ? `${field} is required: an array of rows (arrays of cells, or objects keyed by column name)`
        : `${field} must be an array of rows (arrays of cells, or objects keyed by column name)`,
      field,
    );
  }
  if (data.length > limits.maxRows) throw tooManyRows(field, formatCount(data.length), limits.maxRows);
  const builder = new TableBuilder(limits, { namer: jsonFieldNamer(field), field });
  for (let i = 0; i < data.length; i++) builder.addRow(data[i], i);
  return builder.finish();
}

function tooManyRows(field: string, rows: string, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `${field} has ${rows} rows, more than the limit of ${formatCount(limit)} rows`,
    field,
  );
}

function notAnObject(): ValidationError {
  return new ValidationError('the body must be a JSON object: {"name": "...", "data": [[1, 2], [3, 4]]}', BODY_FIELD);
}

function nameNotString(): ValidationError {
  return new ValidationError('name must be a string', 'name');
}

function checkName(name: string): void {
  if (name.length < 1 || name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(
      `name must be 1 to ${MAX_NAME_LENGTH} characters long, got ${formatCount(name.length)}`,
      'name',
    );
  }
  // Postgres refuses NUL, and would store a lone surrogate as U+FFFD: a different name than the one sent.
  if (!isStorableText(name)) throw new ValidationError(`name ${unstorableMessage(name)}`, 'name');
}

// Where the body's reader is (the JSON around it is the tokenizer's business).
const S_TOP = 0; // before the body's value
const S_BODY = 1; // in the body object, at a key or its end
const S_NAME = 2; // at the value of "name"
const S_DATA = 3; // at the value of "data"
const S_ROWS = 4; // in the data array, at a row or its end
const S_ARRAY_ROW = 5; // in an array row, at a cell or its end
const S_OBJECT_ROW = 6; // in an object row, at a key, a cell or its end
const S_DONE = 7; // after the body object
const S_CAPTURE = 8; // in the value of another field of an envelope (captured whole)

/**
 * A nested array or object in a cell is not kept: the row gets one of these in its place, which the TableBuilder
 * refuses with the same error (`data[3][1] is an array; ...`) as the value itself.
 */
const NESTED_ARRAY: readonly unknown[] = Object.freeze([]);
const NESTED_OBJECT: Readonly<Record<string, unknown>> = Object.freeze({});

/** Sets `key` on `target` as JSON.parse does: a `__proto__` key becomes an own property, not the prototype. */
function setOwn(target: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true });
  else target[key] = v;
}

/**
 * Wraps a handler so that a ValidationError it throws (an unknown field, a bad row or cell) is held back rather than
 * thrown: the rest of the text is still tokenized, skipped (no events), so that a body that is not JSON at all is
 * reported as invalid JSON, not by the first field the reader happened to dislike (`{"a":` is invalid JSON, not an
 * unknown field `a`). Any other error (a limit passed: PayloadTooLargeError) is thrown at once, so limits still stop
 * the read at the first byte, row or cell past them.
 */
class DeferValidation implements JsonHandler {
  /** The first ValidationError the handler threw. */
  held: ValidationError | undefined;

  constructor(private readonly inner: JsonHandler) {}

  private guard<T>(fn: () => T, skipped: T): T {
    if (this.held) return skipped;
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      this.held = err;
      return skipped;
    }
  }

  startObject(): boolean {
    return this.guard(() => this.inner.startObject(), false);
  }
  endObject(): void {
    this.guard(() => this.inner.endObject(), undefined);
  }
  startArray(): boolean {
    return this.guard(() => this.inner.startArray(), false);
  }
  endArray(): void {
    this.guard(() => this.inner.endArray(), undefined);
  }
  key(name: string): void {
    this.guard(() => this.inner.key(name), undefined);
  }
  value(v: JsonScalar): void {
    this.guard(() => this.inner.value(v), undefined);
  }
}

/** Longest stretch (ms) a body is parsed without letting the event loop run anything else. */
const YIELD_EVERY_MS = 10;

/**
 * Feeds the byte stream to `reader` through a tokenizer (DeferValidation around it), with the byte limit and the
 * error order of every JSON body: PayloadTooLargeError as soon as a limit is passed; then invalid JSON (empty,
 * truncated, trailing garbage: ValidationError `invalid_json`, field `body`, with the byte offset); then the first
 * problem the reader found. `onChunk` sees every chunk read (a request hash).
 */
async function readJson(
  stream: ByteSource,
  reader: JsonHandler,
  maxBytes: number,
  onChunk?: (chunk: Buffer) => void,
): Promise<void> {
  const deferred = new DeferValidation(reader);
  const tokenizer = new JsonTokenizer(deferred);
  let since = performance.now();
  try {
    for await (const chunk of limitedStream(stream, maxBytes)) {
      onChunk?.(chunk);
      tokenizer.write(chunk);
      // Chunks already buffered resolve the loop's awaits as microtasks, which never let timers or other sockets
      // run: give the event loop a turn every YIELD_EVERY_MS of parsing, so that concurrent uploads share it.
      if (performance.now() - since > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
    if (!tokenizer.started) throw new ValidationError('the request body is empty', BODY_FIELD, 'invalid_json');
    tokenizer.end();
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      throw new ValidationError(`the body is not valid JSON: ${err.message}`, BODY_FIELD, 'invalid_json');
    }
    throw err;
  }
  if (deferred.held) throw deferred.held;
}

/**
 * Reads the body's events into a name and a table: `{"name": string, "data": [row, ...]}`, keys in any order. Cells
 * are collected for the current row only; each row goes to the TableBuilder when it closes.
 */
class JsonBodyReader implements JsonHandler {
  private state = S_TOP;
  name: string | undefined;
  builder: TableBuilder | undefined;
  /** An envelope's other fields, as JSON.parse would give them. */
  readonly fields: Record<string, unknown> = {};
  private rowIndex = 0;
  private cells: unknown[] = [];
  private row: Record<string, unknown> = {};
  private cellKey = '';
  // A captured field: its name, the containers open inside its value, and the pending key of each open object.
  private captureKey = '';
  private readonly open: Array<unknown[] | Record<string, unknown>> = [];
  private readonly openKeys: string[] = [];

  /**
   * @param envelope false: a dataset upload (`name` and `data` only); true: a request whose `data` is a table and
   *   whose other fields are kept as they are (`fields`)
   */
  constructor(
    private readonly limits: DatasetLimits,
    private readonly envelope = false,
  ) {}

  /** Adds a finished value to the captured field: into the container open around it, or as the field itself. */
  private captured(v: unknown): void {
    const depth = this.open.length;
    if (depth === 0) {
      setOwn(this.fields, this.captureKey, v);
      this.state = S_BODY;
      return;
    }
    const top = this.open[depth - 1];
    if (Array.isArray(top)) top.push(v);
    else setOwn(top, this.openKeys[depth - 1], v);
  }

  /** A row starts in the data array: the limit on rows stops the read before it is taken in. */
  private nextRow(): void {
    if (this.rowIndex >= this.limits.maxRows) {
      throw tooManyRows('data', `at least ${formatCount(this.rowIndex + 1)}`, this.limits.maxRows);
    }
  }

  /** Sets the current key of an object row, as JSON.parse does (a `__proto__` key is an own property). */
  private setCell(v: unknown): void {
    setOwn(this.row, this.cellKey, v);
  }

  private badValue(): never {
    if (this.state === S_TOP)
      throw this.envelope ? new ValidationError('the body must be a JSON object', BODY_FIELD) : notAnObject();
    if (this.state === S_NAME) throw nameNotString();
    // S_DATA
    throw new ValidationError(
      'data must be an array of rows (arrays of cells, or objects keyed by column name)',
      'data',
    );
  }

  startObject(): boolean {
    switch (this.state) {
      case S_CAPTURE:
        this.open.push({});
        this.openKeys.push('');
        return true;
      case S_ARRAY_ROW:
        this.cells.push(NESTED_OBJECT);
        return false;
      case S_OBJECT_ROW:
        this.setCell(NESTED_OBJECT);
        return false;
      case S_ROWS:
        this.nextRow();
        this.row = {};
        this.state = S_OBJECT_ROW;
        return true;
      case S_TOP:
        this.state = S_BODY;
        return true;
      default:
        return this.badValue();
    }
  }

  endObject(): void {
    if (this.state === S_CAPTURE) {
      this.openKeys.pop();
      this.captured(this.open.pop());
    } else if (this.state === S_OBJECT_ROW) {
      const row = this.row;
      this.row = {};
      this.builder!.addRow(row, this.rowIndex++);
      this.state = S_ROWS;
    } else {
      this.state = S_DONE; // S_BODY
    }
  }

  startArray(): boolean {
    switch (this.state) {
      case S_CAPTURE:
        this.open.push([]);
        this.openKeys.push('');
        return true;
      case S_ARRAY_ROW:
        this.cells.push(NESTED_ARRAY);
        return false;
      case S_OBJECT_ROW:
        this.setCell(NESTED_ARRAY);
        return false;
      case S_ROWS:
        this.nextRow();
        this.cells.length = 0;
        this.state = S_ARRAY_ROW;
        return true;
      case S_DATA:
        // A repeated "data" replaces the earlier one, as in JSON.parse.
        this.builder = new TableBuilder(this.limits, { namer: jsonFieldNamer('data'), field: 'data' });
        this.rowIndex = 0;
        this.state = S_ROWS;
        return true;
      default:
        return this.badValue();
    }
  }

  endArray(): void {
    if (this.state === S_CAPTURE) {
      this.openKeys.pop();
      this.captured(this.open.pop());
    } else if (this.state === S_ARRAY_ROW) {
      this.builder!.addRow(this.cells, this.rowIndex++);
      this.cells.length = 0;
      this.state = S_ROWS;
    } else {
      this.state = S_BODY; // S_ROWS: the end of data
    }
  }

  key(name: string): void {
    if (this.state === S_CAPTURE) {
      this.openKeys[this.openKeys.length - 1] = name;
    } else if (this.state === S_OBJECT_ROW) {
      this.cellKey = name;
    } else if (name === 'data') {
      this.state = S_DATA;
    } else if (this.envelope) {
      this.captureKey = name;
      this.state = S_CAPTURE;
    } else if (name === 'name') {
      this.state = S_NAME;
    } else {
      throw new ValidationError(
        `unknown field ${JSON.stringify(name)}; the body has "data" and an optional "name"`,
        name,
      );
    }
  }

  value(v: JsonScalar): void {
    switch (this.state) {
      case S_CAPTURE:
        this.captured(v);
        return;
      case S_ARRAY_ROW:
        this.cells.push(v);
        return;
      case S_OBJECT_ROW:
        this.setCell(v);
        return;
      case S_ROWS:
        this.nextRow();
        this.builder!.addRow(v, this.rowIndex); // throws: a row must be an array or an object
        return;
      case S_NAME:
        if (typeof v !== 'string') throw nameNotString();
        checkName(v);
        this.name = v;
        this.state = S_BODY;
        return;
      default:
        this.badValue();
    }
  }
}

/**
 * Reads and validates a JSON dataset upload, `{"name"?: string, "data": rows}`, streaming: the body is parsed as its
 * chunks arrive and each row is added to the table as soon as it is complete, so no more than the current row and the
 * table is held. Over maxBodyBytes: PayloadTooLargeError (field `body`) as soon as the limit is crossed; more
 * rows than maxRows: PayloadTooLargeError (field `data`) when row maxRows + 1 starts; columns, cells, levels: see TableBuilder. Empty
 * or invalid JSON (truncated, trailing garbage...): ValidationError code `invalid_json` (field `body`) with the byte
 * offset. Not an object, an unknown field, a bad `name` or `data`: ValidationError naming the field; a row or cell: see
 * tableFromRows. Limits stop the read the moment they are passed; other problems are reported once the body is known to
 * be JSON: a body that is not JSON is `invalid_json` wherever its first bad field or row is (`{"nmae": "x", garbage`
 * and `{"a":` are invalid JSON), and of a valid body the first problem is the one reported.
 */
export async function parseJsonBody(stream: ByteSource, limits: DatasetLimits): Promise<JsonDatasetBody> {
  const reader = new JsonBodyReader(limits);
  await readJson(stream, reader, limits.maxBodyBytes);
  const { name, builder } = reader;
  const table = builder === undefined ? tableFromRows(undefined, limits, 'data') : builder.finish();
  return name === undefined ? { table } : { name, table };
}

/** A JSON request with inline rows: its `data` as a table (absent when the body has none), its other fields as sent. */
export interface JsonEnvelope {
  fields: Record<string, unknown>;
  table?: Table;
}

/**
 * Reads a JSON object request whose `data` field holds inline rows (POST /api/v1/clustering, the seed services'
 * `/api/cluster/:algorithm`) as parseJsonBody reads an upload: streaming, `data` straight into a TableBuilder under
 * the dataset limits (an oversized body, too many rows, columns, cells or levels are refused at the first byte, row
 * or cell past them, never buffered whole), with the same errors (`data[3][1]`...) and error order (invalid JSON
 * before the first field problem). The other fields are returned as JSON.parse gives them, for the caller's schema.
 * `data` that is present but not an array of rows is a ValidationError naming `data`; a body that is not an object
 * names `body`. `onChunk` sees each chunk as read (a request hash).
 */
export async function parseJsonEnvelope(
  stream: ByteSource,
  limits: DatasetLimits,
  onChunk?: (chunk: Buffer) => void,
): Promise<JsonEnvelope> {
  const reader = new JsonBodyReader(limits, true);
  await readJson(stream, reader, limits.maxBodyBytes, onChunk);
  return reader.builder === undefined
    ? { fields: reader.fields }
    : { fields: reader.fields, table: reader.builder.finish() };
}
