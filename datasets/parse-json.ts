/**
 * JSON uploads, `{ "name"?: string, "data": rows }`, and the inline `data` of other requests. JSON is not streamed:
 * the body is read under the byte limit (stopping as soon as it is crossed), then parsed, then turned into a Table
 * row by row under the table limits.
 */
import { PayloadTooLargeError, ValidationError } from '../common/errors';
import { DatasetLimits, formatCount } from './limits';
import { BODY_FIELD, ByteSource, readBodyLimited } from './read-body';
import { Table } from './table';
import { jsonFieldNamer, TableBuilder } from './table-builder';

/** Dataset names: 1 to 200 characters (UTF-16 code units, as in the API's schemas). */
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
  if (data.length > limits.maxRows) {
    throw new PayloadTooLargeError(
      `${field} has ${formatCount(data.length)} rows, more than the limit of ${formatCount(limits.maxRows)} rows`,
      field,
    );
  }
  const builder = new TableBuilder(limits, { namer: jsonFieldNamer(field), field });
  for (let i = 0; i < data.length; i++) builder.addRow(data[i], i);
  return builder.finish();
}

/**
 * Reads and validates a JSON dataset upload. Over maxBodyBytes: PayloadTooLargeError (413, field `body`) as soon as
 * the limit is crossed; empty or invalid JSON: ValidationError code `invalid_json` (field `body`); not an object, an
 * unknown field, a bad `name` or `data`: ValidationError naming the field; the table: see tableFromRows.
 */
export async function parseJsonBody(stream: ByteSource, limits: DatasetLimits): Promise<JsonDatasetBody> {
  let text = (await readBodyLimited(stream, limits.maxBodyBytes)).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) throw new ValidationError('the request body is empty', BODY_FIELD, 'invalid_json');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`the body is not valid JSON: ${(err as Error).message}`, BODY_FIELD, 'invalid_json');
  }
  text = '';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('the body must be a JSON object: {"name": "...", "data": [[1, 2], [3, 4]]}', BODY_FIELD);
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key !== 'name' && key !== 'data') {
      throw new ValidationError(`unknown field ${JSON.stringify(key)}; the body has "data" and an optional "name"`, key);
    }
  }
  const { name } = fields;
  if (name !== undefined) {
    if (typeof name !== 'string') throw new ValidationError('name must be a string', 'name');
    if (name.length < 1 || name.length > MAX_NAME_LENGTH) {
      throw new ValidationError(`name must be 1 to ${MAX_NAME_LENGTH} characters long, got ${formatCount(name.length)}`, 'name');
    }
  }
  const table = tableFromRows(fields.data, limits, 'data');
  return name === undefined ? { table } : { name, table };
}
