/**
 * GPU telemetry as CSV in the long layout of a flattened DCGM exporter scrape: one metric sample per row, under the
 * header `timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,namespace,value,labels_raw`.
 *
 * - The header names exactly those twelve columns, each once, in any order (the order above is the exporter's).
 * - Each row is checked as it arrives and its error names it: `row N, column "value"` for a cell, `row N` for the row
 *   (N is the line the row starts on; the header is row 1). Checked: `timestamp` (parseTimeMs: ISO-8601 with a zone or
 *   epoch milliseconds, from 2000-01-01 to a day past now, so epoch seconds are caught), `metric_name` (a Prometheus
 *   metric name), `modelName` and `Hostname` (no NUL, at most 256 characters), `gpu_id` (a device index, a
 *   non-negative integer), `uuid` (non-empty, common/gpu-device-id.ts) and `value` (a finite decimal number, inside
 *   the range of a known DCGM field: gpu/dcgm-fields.ts).
 * - `modelName`, `Hostname` and `gpu_id` describe a device the first time the upload names its UUID (later rows do not
 *   change it); `device`, `container`, `pod`, `namespace` and `labels_raw` are read and not kept.
 * - CSV per RFC 4180 (csv-parse): quoted fields may hold commas, quotes (`""`) and line breaks; blank lines (and lines
 *   of spaces) are skipped;
 *   UTF-8, a byte-order mark is ignored; one record is at most MAX_RECORD_BYTES.
 * - Limits: the body's bytes while reading (datasets/read-body.ts), the rows at the first row past the limit; both are
 *   PayloadTooLargeError, raised mid-stream.
 */
import { Readable, pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { PayloadTooLargeError, ValidationError } from '../common/errors';
import { DEVICE_ID } from '../common/gpu-device-id';
import { parseTimeMs, TIME_FORMATS } from '../common/parse-time';
import { TelemetryLimits } from '../common/telemetry-limits';
import { formatCount } from '../datasets/limits';
import { BODY_FIELD, ByteSource, limitedStream } from '../datasets/read-body';
import { DCGM_FIELDS, METRIC_NAME } from './dcgm-fields';

/** The header of a flattened DCGM scrape, in the exporter's order. */
export const DCGM_CSV_COLUMNS = [
  'timestamp',
  'metric_name',
  'gpu_id',
  'device',
  'uuid',
  'modelName',
  'Hostname',
  'container',
  'pod',
  'namespace',
  'value',
  'labels_raw',
] as const;

type Column = (typeof DCGM_CSV_COLUMNS)[number];

/** Longest record (a row's text) read: 64 KiB, far above a real row (200–300 bytes, labels included). */
export const MAX_RECORD_BYTES = 64 * 1024;

/** Samples handed over at a time by default: enough for one efficient COPY, little memory. */
export const DEFAULT_BATCH_ROWS = 10_000;

/** Earliest sample accepted, 2000-01-01: a smaller number is epoch seconds or microseconds read as milliseconds. */
export const MIN_SAMPLE_MS = Date.UTC(2000, 0, 1);
/** Latest sample accepted, the end of 9999 (a four-digit year). */
export const MAX_SAMPLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** How far past the reader's clock a sample may lie (clock skew between a node and the API); later is refused. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
/** Characters of `modelName` and `Hostname` kept as a device's name and host; longer is refused. */
export const MAX_DEVICE_TEXT = 256;

/** One row as stored: a metric's value on a device at an instant. */
export interface DcgmSample {
  deviceId: string;
  /** Epoch milliseconds. */
  recordedAtMs: number;
  metric: string;
  value: number;
}

/** A device as the first row naming its UUID describes it. */
export interface DcgmDevice {
  id: string;
  /** `gpu_id`: the device's index on its host. */
  index: number;
  /** `modelName`, e.g. `NVIDIA H100 80GB HBM3` (may be empty). */
  modelName: string;
  /** `Hostname` (may be empty). */
  hostname: string;
  /** The timestamp of that first row (epoch ms). */
  firstSeenMs: number;
}

/** Samples in file order, with the devices first named among them. */
export interface DcgmBatch {
  samples: DcgmSample[];
  newDevices: DcgmDevice[];
}

// A decimal number as the exporter writes one: no hex, no `Infinity`/`NaN`, no thousands separators.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INDEX = /^\d{1,9}$/;

/** Line breaks inside a record's (quoted) fields: the record spans that many more lines. */
function innerLineBreaks(record: string[]): number {
  let breaks = 0;
  for (const field of record) {
    for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) breaks++;
  }
  return breaks;
}

const cellField = (row: number, column: Column) => `row ${row}, column ${JSON.stringify(column)}`;
const rowField = (row: number) => `row ${row}`;

/** The header's column positions, or a ValidationError (field `header`) naming what is missing, unknown or repeated. */
function columnPositions(names: string[]): Record<Column, number> {
  const expected = `expected the columns ${DCGM_CSV_COLUMNS.join(',')}`;
  const positions: Partial<Record<Column, number>> = {};
  names.forEach((raw, i) => {
    const name = raw.trim();
    if (!(DCGM_CSV_COLUMNS as readonly string[]).includes(name)) {
      throw new ValidationError(
        `header column ${i + 1} is ${JSON.stringify(name)}, not a known column; ${expected}`,
        'header',
      );
    }
    if (positions[name as Column] !== undefined) {
      throw new ValidationError(`header names ${JSON.stringify(name)} twice; ${expected}`, 'header');
    }
    positions[name as Column] = i;
  });
  const missing = DCGM_CSV_COLUMNS.filter((c) => positions[c] === undefined);
  if (missing.length > 0) {
    throw new ValidationError(
      `header lacks ${missing.map((c) => JSON.stringify(c)).join(', ')}; ${expected}`,
      'header',
    );
  }
  return positions as Record<Column, number>;
}

/** csv-parse's syntax errors in Kiln's words, naming the row (`lines`: the line the parser was on). */
function syntaxError(err: CsvError & { lines?: number }): ValidationError {
  const where = rowField(err.lines ?? 1);
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new ValidationError(`${where} has a quoted field that is never closed`, where);
    case 'CSV_MAX_RECORD_SIZE':
      return new ValidationError(`${where} is longer than ${formatCount(MAX_RECORD_BYTES)} bytes`, where);
    case 'INVALID_OPENING_QUOTE':
      return new ValidationError(
        `${where}: a quote inside an unquoted field; quote the whole field and double the quote ("")`,
        where,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new ValidationError(
        `${where}: text after a closing quote; a quoted field ends at a comma or line end`,
        where,
      );
    default:
      return new ValidationError(`${where}: ${err.message}`, where);
  }
}

/**
 * Reads a flattened DCGM scrape from `source` as it streams in (see the file comment for the format), handing over
 * validated samples in batches of `batchRows`. Memory holds one batch, the devices met so far and csv-parse's small
 * read-ahead. A problem throws as soon as the row or byte that shows it is read: ValidationError (400) naming the row
 * and column, the header (`header`) or the body (`body`: empty, or a header without rows); PayloadTooLargeError (413)
 * past a limit. After a complete read, `rows`, `firstMs`, `lastMs` and `devices` describe the whole upload.
 */
export class DcgmCsvReader {
  /** Data rows read. */
  rows = 0;
  /** Earliest and latest sample (epoch ms); NaN before the first row. */
  firstMs = NaN;
  lastMs = NaN;
  /** Every device the upload names, by UUID, as its first row describes it. */
  readonly devices = new Map<string, DcgmDevice>();

  constructor(
    private readonly source: ByteSource,
    private readonly limits: TelemetryLimits,
    private readonly batchRows = DEFAULT_BATCH_ROWS,
    /** The clock future samples are measured against (epoch ms). */
    private readonly nowMs: () => number = Date.now,
  ) {}

  async *batches(): AsyncGenerator<DcgmBatch, void, undefined> {
    const parser = parse({
      bom: true,
      delimiter: ',',
      quote: '"',
      escape: '"',
      record_delimiter: ['\r\n', '\n'],
      // Blank lines come through (as one empty field) to be counted: rows are numbered by line, and csv-parse's own
      // line numbers (`info`) cost a sixth of the parse.
      skip_empty_lines: false,
      // Row lengths are checked here, so that the error names the row and both counts.
      relax_column_count: true,
      max_record_size: MAX_RECORD_BYTES,
    });
    const input = Readable.from(limitedStream(this.source, this.limits.maxBodyBytes), { objectMode: false });
    // The first error (a limit from the input, a syntax error from the parser) reaches the loop below through the
    // parser, which pipeline destroys with it; leaving the loop early destroys both (the request itself is left
    // unread, not destroyed: read-body.ts).
    pipeline(input, parser, () => undefined);

    let columns: Record<Column, number> | undefined;
    let nextLine = 1; // the line the next record starts on
    let lastTimestamp = '';
    let lastTimestampMs = NaN;
    let samples: DcgmSample[] = [];
    let newDevices: DcgmDevice[] = [];
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        const row = nextLine;
        nextLine += 1 + innerLineBreaks(record);
        if (record.length === 1 && record[0].trim() === '') continue; // a blank line
        if (!columns) {
          columns = columnPositions(record);
          continue;
        }
        if (this.rows >= this.limits.maxRows) {
          throw new PayloadTooLargeError(
            `too many rows: more than the limit of ${formatCount(this.limits.maxRows)} data rows per upload`,
            rowField(row),
          );
        }
        if (record.length !== DCGM_CSV_COLUMNS.length) {
          throw new ValidationError(
            `${rowField(row)} has ${record.length} fields; the header has ${DCGM_CSV_COLUMNS.length}`,
            rowField(row),
          );
        }
        const timestamp = record[columns.timestamp];
        // Rows of one scrape share their timestamp: parse it once.
        if (timestamp !== lastTimestamp) {
          lastTimestampMs = this.timestampMs(timestamp, row);
          lastTimestamp = timestamp;
        }
        const metric = record[columns.metric_name];
        if (!METRIC_NAME.test(metric)) {
          throw new ValidationError(
            metric === ''
              ? `${cellField(row, 'metric_name')} is empty`
              : `${cellField(row, 'metric_name')}: ${JSON.stringify(metric.slice(0, 60))} is not a metric name ([A-Za-z_:][A-Za-z0-9_:]*, at most 128 characters)`,
            cellField(row, 'metric_name'),
          );
        }
        const deviceId = record[columns.uuid];
        const index = record[columns.gpu_id];
        if (!INDEX.test(index)) {
          const field = cellField(row, 'gpu_id');
          throw new ValidationError(
            `${field}: ${JSON.stringify(index.slice(0, 60))} is not a device index (a non-negative integer)`,
            field,
          );
        }
        let device = this.devices.get(deviceId);
        if (!device) {
          device = this.device(record, columns, row, lastTimestampMs);
          this.devices.set(deviceId, device);
          newDevices.push(device);
        }
        const value = this.value(record[columns.value], metric, row);
        samples.push({ deviceId, recordedAtMs: lastTimestampMs, metric, value });
        this.rows += 1;
        if (!(lastTimestampMs >= this.firstMs)) this.firstMs = lastTimestampMs;
        if (!(lastTimestampMs <= this.lastMs)) this.lastMs = lastTimestampMs;
        if (samples.length >= this.batchRows) {
          yield { samples, newDevices };
          samples = [];
          newDevices = [];
        }
      }
    } catch (err) {
      if (err instanceof CsvError) throw syntaxError(err);
      throw err;
    }
    if (!columns) {
      throw new ValidationError(
        `the body is empty; it needs the header ${DCGM_CSV_COLUMNS.join(',')} and then one row per sample`,
        BODY_FIELD,
      );
    }
    if (this.rows === 0) throw new ValidationError('the CSV has a header but no data rows', BODY_FIELD);
    if (samples.length > 0) yield { samples, newDevices };
  }

  private timestampMs(text: string, row: number): number {
    const field = cellField(row, 'timestamp');
    if (text === '') throw new ValidationError(`${field} is empty`, field);
    const ms = parseTimeMs(text);
    if (!Number.isFinite(ms)) {
      throw new ValidationError(`${field}: ${JSON.stringify(text.slice(0, 60))} is not ${TIME_FORMATS}`, field);
    }
    if (ms < MIN_SAMPLE_MS || ms > MAX_SAMPLE_MS) {
      throw new ValidationError(
        `${field}: ${JSON.stringify(text)} is outside 2000-01-01 to 9999-12-31` +
          (ms < MIN_SAMPLE_MS ? ' (epoch seconds? write epoch milliseconds)' : ''),
        field,
      );
    }
    if (ms > this.nowMs() + MAX_FUTURE_MS) {
      throw new ValidationError(
        `${field}: ${JSON.stringify(text)} is more than a day in the future (the node's clock, or its zone?)`,
        field,
      );
    }
    return ms;
  }

  /** A device's `modelName` or `Hostname`: text Postgres stores (no NUL), at most MAX_DEVICE_TEXT characters. */
  private deviceText(text: string, row: number, column: 'modelName' | 'Hostname'): string {
    const field = cellField(row, column);
    if (text.includes('\0')) throw new ValidationError(`${field} contains a NUL character`, field);
    if (text.length > MAX_DEVICE_TEXT) {
      throw new ValidationError(`${field} has ${text.length} characters; at most ${MAX_DEVICE_TEXT}`, field);
    }
    return text;
  }

  private device(record: string[], columns: Record<Column, number>, row: number, seenMs: number): DcgmDevice {
    const id = record[columns.uuid];
    if (!DEVICE_ID.test(id)) {
      const field = cellField(row, 'uuid');
      throw new ValidationError(
        id === ''
          ? `${field} is empty; every sample needs its device's UUID`
          : `${field}: ${JSON.stringify(id.slice(0, 60))} is not a device UUID (a letter or digit, then up to 127 of A-Z a-z 0-9 . _ : -)`,
        field,
      );
    }
    return {
      id,
      index: Number(record[columns.gpu_id]),
      modelName: this.deviceText(record[columns.modelName], row, 'modelName'),
      hostname: this.deviceText(record[columns.Hostname], row, 'Hostname'),
      firstSeenMs: seenMs,
    };
  }

  private value(text: string, metric: string, row: number): number {
    const field = cellField(row, 'value');
    const value = DECIMAL.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(value)) {
      throw new ValidationError(
        text === ''
          ? `${field} is empty`
          : `${field}: ${JSON.stringify(text.slice(0, 60))} is not a finite number (NaN and ±Inf are not stored)`,
        field,
      );
    }
    const known = Object.hasOwn(DCGM_FIELDS, metric) ? DCGM_FIELDS[metric] : undefined;
    if (known && (value < known.min || value > known.max)) {
      const range = known.max === Infinity ? `at least ${known.min}` : `from ${known.min} to ${known.max}`;
      throw new ValidationError(`${field}: ${metric} is ${value} ${known.unit}; it must be ${range}`, field);
    }
    return value;
  }
}
