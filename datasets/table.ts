/**
 * The canonical in-memory table every dataset format (JSON, CSV, NDJSON) is parsed into, and that is stored, hashed
 * and fed to the ML code.
 */

/**
 * One column. A `string` column is categorical: its cells hold an index into `levels`, the column's distinct strings in
 * the order they first appear in the data.
 */
export interface ColumnSpec {
  name: string;
  type: 'number' | 'string';
  levels?: string[];
}

/**
 * `rows` × `columns.length` cells, row-major: cell (r, c) is `values[r * columns.length + c]`. Number cells are finite;
 * a string column's cell is the integer index of its value in that column's `levels`.
 */
export interface Table {
  columns: ColumnSpec[];
  rows: number;
  values: Float64Array;
}
