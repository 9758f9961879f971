/**
 * CSV uploads (RFC 4180), parsed line by line as the body streams in.
 *
 * - The first line is the header: column names, trimmed, non-empty and unique.
 * - Fields are separated by `,`; a field may be quoted with `"`, and then may contain `,`, line breaks and `""` (one
 *   quote). A quote inside an unquoted field, or text after a closing quote, is an error. Quoting does not change a
 *   cell's type: `"1.5"` is a number like `1.5`.
 * - Lines end with LF or CRLF (a line break inside a quoted field is kept as `\n`); a final newline and blank lines at
 *   the end are fine, a blank line before more data is an error. A UTF-8 byte-order mark is ignored.
 * - Cells: see TableBuilder.addTextRow (numbers, strings, no missing values, no NaN/Infinity).
 * - Errors name `row N`, N the line the record starts on (the header is row 1), or `row N, column "x"` for a cell.
 * - Limits: maxBodyBytes while reading, the table limits at the first row past them.
 */
import { ValidationError } from '../common/errors';
import { DatasetLimits } from './limits';
import { BODY_FIELD, ByteSource, readLines } from './read-body';
import { Table } from './table';
import { CSV_FIELDS, TableBuilder } from './table-builder';

const QUOTE = 34;
const COMMA = 44;

function countQuotes(line: string, from = 0): number {
  let count = 0;
  for (let i = line.indexOf('"', from); i !== -1; i = line.indexOf('"', i + 1)) count++;
  return count;
}

/**
 * Splits a record that contains quotes into its fields, or returns undefined if the record ends inside a quoted field
 * (its next line belongs to it). A quote inside an unquoted field, or text after a closing quote, is a ValidationError
 * naming the row.
 */
export function splitQuotedRecord(record: string, row: number): string[] | undefined {
  const where = CSV_FIELDS.row(row);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (record.charCodeAt(i) === QUOTE) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const close = record.indexOf('"', from);
        if (close === -1) return undefined;
        value += record.slice(from, close);
        if (record.charCodeAt(close + 1) === QUOTE) {
          value += '"';
          from = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      fields.push(value);
      if (i === record.length) return fields;
      if (record.charCodeAt(i) !== COMMA) {
        throw new ValidationError(
          `${where}, field ${fields.length}: unexpected text after the closing quote; a quoted field must end at a comma or the end of the line`,
          where,
        );
      }
      i++;
    } else {
      const comma = record.indexOf(',', i);
      const end = comma === -1 ? record.length : comma;
      const quote = record.indexOf('"', i);
      if (quote !== -1 && quote < end) {
        throw new ValidationError(
          `${where}, field ${fields.length + 1}: a quote inside an unquoted field; quote the whole field and double the quote ("")`,
          where,
        );
      }
      fields.push(record.slice(i, end));
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}

function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0);
}

/**
 * Parses a CSV body into a Table, streaming: memory holds the table being built and one chunk (or one record), and a
 * limit stops the read at the first row or byte past it (PayloadTooLargeError). Malformed data: ValidationError
 * naming the row, cell or column; an empty body, or a header without data rows, names `body`.
 */
export async function parseCsv(stream: ByteSource, limits: DatasetLimits): Promise<Table> {
  const builder = new TableBuilder(limits, { namer: CSV_FIELDS, field: BODY_FIELD });
  let lineNo = 0;
  let haveHeader = false;
  let blankLine = 0; // the first blank line since the last record, 0 if none
  let open: string[] | undefined; // the lines so far of a record whose quoted field spans lines
  let openRow = 0;
  let openQuotesOdd = false;

  const record = (cells: string[], row: number): void => {
    if (blankLine !== 0) {
      const where = CSV_FIELDS.row(blankLine);
      throw new ValidationError(
        haveHeader
          ? `${where} is blank; blank lines are only allowed at the end of the data`
          : `${where} is blank; the CSV must start with a header line naming the columns`,
        where,
      );
    }
    if (haveHeader) {
      builder.addTextRow(cells, row);
    } else {
      builder.setColumnNames(
        cells.map((name) => name.trim()),
        'header',
      );
      haveHeader = true;
    }
  };

  for await (const lines of readLines(stream, limits.maxBodyBytes)) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      lineNo++;
      if (open !== undefined) {
        // Inside a quoted field that spans lines: the record can only end on a line that flips the quote parity.
        open.push(line);
        if (countQuotes(line) % 2 === 1) {
          openQuotesOdd = !openQuotesOdd;
          if (!openQuotesOdd) {
            const fields = splitQuotedRecord(open.join('\n'), openRow);
            if (fields !== undefined) {
              open = undefined;
              record(fields, openRow);
            }
          }
        }
        continue;
      }
      if (line.indexOf('"') === -1) {
        if (isBlank(line)) {
          if (blankLine === 0) blankLine = lineNo;
        } else if (blankLine === 0 && haveHeader) {
          builder.addUnquotedLine(line, lineNo);
        } else {
          record(line.split(','), lineNo);
        }
        continue;
      }
      const fields = splitQuotedRecord(line, lineNo);
      if (fields !== undefined) {
        record(fields, lineNo);
      } else {
        open = [line];
        openRow = lineNo;
        openQuotesOdd = true;
      }
    }
  }
  if (open !== undefined) {
    const where = CSV_FIELDS.row(openRow);
    throw new ValidationError(
      `${where} has a quoted field that is never closed (no matching quote before the end of the body)`,
      where,
    );
  }
  if (!haveHeader) {
    throw new ValidationError(
      'the CSV body is empty; it needs a header line naming the columns, then data rows',
      BODY_FIELD,
    );
  }
  if (builder.rowCount === 0) throw new ValidationError('the CSV has a header but no data rows', BODY_FIELD);
  return builder.finish();
}
