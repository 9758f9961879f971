/**
 * CSV uploads (RFC 4180), tokenized by csv-parse as the body streams in; Kiln's TableBuilder makes the table.
 *
 * - The first line is the header: column names, trimmed, non-empty and unique.
 * - Fields are separated by `,`; a field may be quoted with `"`, and then may contain `,`, line breaks and `""` (one
 *   quote). A quote inside an unquoted field, or text after a closing quote, is an error. Quoting does not change a
 *   cell's type: `"1.5"` is a number like `1.5`.
 * - Lines end with LF or CRLF (a line break inside a quoted field is kept as `\n`; a lone CR is an ordinary
 *   character); a final newline and blank lines at the end are fine, a blank line before more data is an error. Text
 *   is UTF-8; a UTF-8 byte-order mark is ignored.
 * - Cells: see TableBuilder.addTextRow (numbers, strings, no missing values, no NaN/Infinity).
 * - Errors name `row N`, N the line the record starts on (the header is row 1), or `row N, column "x"` for a cell.
 * - Limits: maxBodyBytes while reading, the table limits at the first row past them.
 */
import { CsvError, Info, Parser } from 'csv-parse';
import { ValidationError } from '../common/errors';
import { DatasetLimits } from './limits';
import { BODY_FIELD, ByteSource, limitedStream } from './read-body';
import { Table } from './table';
import { CSV_FIELDS, TableBuilder } from './table-builder';

/** What csv-parse pushes with `raw: true`: the record's fields and its source text, up to its LF or CRLF's CR. */
interface RawRecord {
  record: string[];
  raw: string;
}

/**
 * The synchronous tokenizer inside csv-parse's Parser (`parser.api`, csv-parse 7; not in its type declarations).
 * Parser, a Transform, wraps it with stream buffering and reports errors a tick later; Kiln calls it directly so
 * that a chunk is parsed the moment it is read, nothing is read ahead of the parser, and a row's error is thrown
 * before the next chunk is pulled. `parse` returns a syntax error instead of throwing it; an error thrown by `push`
 * propagates.
 */
interface CsvTokenizer {
  parse(chunk: Buffer | undefined, end: boolean, push: (record: RawRecord) => void, close: () => void): unknown;
}

const CR = 13;
const LF = 10;
const QUOTE = 34;
const CR_CHUNK = Buffer.from([CR]);

/** CSV as Kiln reads it: RFC 4180 with `,` and `"`, LF or CRLF line ends, and every line a record. */
const CSV_OPTIONS = {
  bom: true,
  delimiter: ',',
  quote: '"',
  escape: '"',
  // Explicit, not auto-detected: files that mix LF and CRLF lines are fine, and a lone CR is data.
  record_delimiter: ['\r\n', '\n'],
  // Blank lines come through as records, so Kiln can number rows by line and refuse a blank line before data.
  skip_empty_lines: false,
  // Row lengths are the table builder's to check (its error names the row and both counts).
  relax_column_count: true,
  // Record text, to tell a blank line from a quoted blank cell and to count the line breaks inside quotes.
  raw: true,
  // No record size limit of its own: maxBodyBytes bounds a record.
  max_record_size: 0,
};

function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0);
}

/** Line breaks inside a record's quoted fields: the `\n`s of its text, less the one that ends it. */
function innerLineBreaks(raw: string): number {
  const last = raw.length - 1;
  let count = 0;
  for (let i = raw.indexOf('\n'); i !== -1 && i < last; i = raw.indexOf('\n', i + 1)) count++;
  return count;
}

/** csv-parse's syntax errors in Kiln's words; `row` is the line the record starts on. */
function syntaxError(err: unknown, row: number): Error {
  if (!(err instanceof CsvError)) return err instanceof Error ? err : new Error(String(err));
  const where = CSV_FIELDS.row(row);
  // `column` is the 0-based index of the field being read when the error was found.
  const field = typeof err.column === 'number' ? err.column + 1 : undefined;
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new ValidationError(
        `${where} has a quoted field that is never closed (no matching quote before the end of the body)`,
        where,
      );
    case 'INVALID_OPENING_QUOTE':
      return new ValidationError(
        `${where}, field ${field}: a quote inside an unquoted field; quote the whole field and double the quote ("")`,
        where,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new ValidationError(
        `${where}, field ${field}: unexpected text after the closing quote; a quoted field must end at a comma or the end of the line`,
        where,
      );
    default:
      return new ValidationError(`${where}: ${err.message}`, where);
  }
}

/**
 * Parses a CSV body into a Table, streaming: memory holds the table being built and one chunk (or one record), and a
 * limit stops the read at the first row or byte past it (PayloadTooLargeError). Malformed data: ValidationError
 * naming the row, cell or column; an empty body, or a header without data rows, names `body`.
 */
export async function parseCsv(stream: ByteSource, limits: DatasetLimits): Promise<Table> {
  const builder = new TableBuilder(limits, { namer: CSV_FIELDS, field: BODY_FIELD });
  const parser = new Parser(CSV_OPTIONS);
  const tokenizer = (parser as unknown as { api?: CsvTokenizer }).api;
  if (typeof tokenizer?.parse !== 'function') {
    throw new Error('csv-parse: Parser.api.parse is missing; parse-csv.ts is written against csv-parse 7');
  }
  const info: Info = parser.info;
  let haveHeader = false;
  let blankLine = 0; // the first blank line since the last record, 0 if none
  let nextRow = 1; // the line the next record starts on
  let recordEnd = 0; // the body offset (bytes) just past the last record
  let fed = 0; // bytes passed to the tokenizer
  let lastFed = -1; // the last of them

  // The line end in a record's text: LF, the CR of a CRLF (csv-parse's raw text stops before its LF), or none for a
  // last line that runs to the end of the body, whose own final CR (after the one dropped below) is data.
  const terminatorLength = (raw: string): number => {
    const last = raw.charCodeAt(raw.length - 1);
    if (last === LF) return 1;
    if (last !== CR) return 0;
    return info.bytes === fed && lastFed === CR ? 0 : 1;
  };

  const beforeDataRow = (): void => {
    if (blankLine !== 0) {
      const where = CSV_FIELDS.row(blankLine);
      throw new ValidationError(
        haveHeader
          ? `${where} is blank; blank lines are only allowed at the end of the data`
          : `${where} is blank; the CSV must start with a header line naming the columns`,
        where,
      );
    }
  };

  const onRecord = ({ record: cells, raw }: RawRecord): void => {
    const row = nextRow;
    recordEnd = info.bytes;
    const breaks = innerLineBreaks(raw);
    nextRow = row + 1 + breaks;
    if (breaks > 0) {
      // A CRLF inside a quoted field is kept as LF, as line ends are.
      for (let j = 0; j < cells.length; j++) {
        if (cells[j].includes('\r\n')) cells[j] = cells[j].replace(/\r\n/g, '\n');
      }
    }
    const unquoted = raw.indexOf('"') === -1;
    if (cells.length === 1 && unquoted && isBlank(cells[0])) {
      if (blankLine === 0) blankLine = row;
      return;
    }
    beforeDataRow();
    if (!haveHeader) {
      builder.setColumnNames(
        cells.map((name) => name.trim()),
        'header',
      );
      haveHeader = true;
      return;
    }
    if (unquoted) {
      // Without quotes the record is its line, which the builder reads in place (its fast path, and the order of
      // checks Kiln always had: limits, then each cell left to right, then the row's length).
      builder.addUnquotedLine(raw.slice(0, raw.length - terminatorLength(raw)), row);
    } else {
      builder.addTextRow(cells, row);
    }
  };

  const feed = (chunk: Buffer | undefined): void => {
    if (chunk !== undefined) {
      fed += chunk.length;
      lastFed = chunk[chunk.length - 1];
    }
    const err = tokenizer.parse(chunk, chunk === undefined, onRecord, () => undefined);
    if (err !== undefined) throw syntaxError(err, nextRow);
  };

  // csv-parse keeps the last few bytes of every chunk back until the next one arrives (it looks ahead for the CRLF
  // and `""` it might start), so the row that ends a chunk reaches onRecord only with the next chunk. When the table
  // is already full, that row is refused from the chunk itself, so that the read stops without pulling more: a
  // complete line after the last record, unquoted and not blank (a quoted or blank line is left to the parser).
  const refuseCompleteRow = (chunk: Buffer, chunkStart: number): void => {
    if (!haveHeader || builder.rowCount === 0 || builder.hasRoomForRow() || recordEnd < chunkStart) return;
    if (parser.options.encoding !== 'utf8') return;
    const rest = chunk.subarray(recordEnd - chunkStart);
    let end = rest.indexOf(LF);
    if (end === -1 || rest.subarray(0, end).includes(QUOTE)) return;
    if (end > 0 && rest[end - 1] === CR) end--;
    if (isBlank(rest.toString('utf8', 0, end))) return;
    beforeDataRow();
    builder.checkRoomForRow(nextRow);
  };

  // A chunk's final CR is held back until the next chunk: at the very end of the body it ends the last line, as it
  // would before an LF, and is dropped.
  let heldCr = false;
  for await (const chunk of limitedStream(stream, limits.maxBodyBytes)) {
    if (heldCr) feed(CR_CHUNK);
    heldCr = chunk[chunk.length - 1] === CR;
    const piece = heldCr ? chunk.subarray(0, chunk.length - 1) : chunk;
    if (piece.length === 0) continue;
    const pieceStart = fed;
    feed(piece);
    refuseCompleteRow(piece, pieceStart);
  }
  feed(undefined);

  if (!haveHeader) {
    throw new ValidationError(
      'the CSV body is empty; it needs a header line naming the columns, then data rows',
      BODY_FIELD,
    );
  }
  if (builder.rowCount === 0) throw new ValidationError('the CSV has a header but no data rows', BODY_FIELD);
  return builder.finish();
}
