/**
 * NDJSON (JSON Lines) uploads, parsed line by line as the body streams in: each line is one row, a JSON array of cells
 * or a JSON object keyed by column name (all lines the same form; see TableBuilder for names, types and limits).
 * Blank lines are skipped; LF or CRLF; a UTF-8 byte-order mark is ignored. Errors name `line N` (1-based), or
 * `line N[j]` / `line N.key` for a cell.
 */
import { ValidationError } from '../common/errors';
import { DatasetLimits } from './limits';
import { BODY_FIELD, ByteSource, readLines } from './read-body';
import { Table } from './table';
import { NDJSON_FIELDS, TableBuilder } from './table-builder';

/**
 * Parses an NDJSON body into a Table, streaming; a limit stops the read at the first row or byte past it (PayloadTooLargeError). A line
 * that is not JSON: ValidationError code `invalid_json`, field `line N`; other problems: ValidationError naming
 * the line, cell or column.
 */
export async function parseNdjson(stream: ByteSource, limits: DatasetLimits): Promise<Table> {
  const builder = new TableBuilder(limits, { namer: NDJSON_FIELDS, field: BODY_FIELD });
  let lineNo = 0;
  for await (const lines of readLines(stream, limits.maxBodyBytes)) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      lineNo++;
      if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        const where = NDJSON_FIELDS.row(lineNo);
        throw new ValidationError(`${where} is not valid JSON: ${(err as Error).message}`, where, 'invalid_json');
      }
      builder.addRow(row, lineNo);
    }
  }
  if (builder.rowCount === 0) {
    throw new ValidationError('the NDJSON body has no rows; send one JSON array or object per line', BODY_FIELD);
  }
  return builder.finish();
}
