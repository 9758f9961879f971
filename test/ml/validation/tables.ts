import { ColumnSpec, Table } from '../../../datasets/table';
import { Check, CheckName } from '../../../ml/validation/check';
import { ValidationReport } from '../../../ml/validation/report';

/** A column for `makeTable`: numbers (NaN and ±Infinity allowed), strings, or raw level codes with their levels. */
export type TestColumn =
  | { name: string; values: number[] }
  | { name: string; strings: Array<string | null> }
  | { name: string; levels: string[]; codes: number[] };

/**
 * A row-major Table from columns of equal length. String columns get their levels in first-appearance order (as
 * the parsers do), null is a missing cell (NaN).
 */
export function makeTable(columns: TestColumn[]): Table {
  const rows = columns.length === 0 ? 0 : columnLength(columns[0]);
  const specs: ColumnSpec[] = [];
  const values = new Float64Array(rows * columns.length);
  columns.forEach((col, c) => {
    if (columnLength(col) !== rows) throw new Error(`column ${col.name} has ${columnLength(col)} rows, not ${rows}`);
    if ('values' in col) {
      specs.push({ name: col.name, type: 'number' });
      col.values.forEach((v, r) => (values[r * columns.length + c] = v));
    } else if ('strings' in col) {
      const levels: string[] = [];
      col.strings.forEach((s, r) => {
        let code = NaN;
        if (s !== null) {
          code = levels.indexOf(s);
          if (code < 0) code = levels.push(s) - 1;
        }
        values[r * columns.length + c] = code;
      });
      specs.push({ name: col.name, type: 'string', levels });
    } else {
      specs.push({ name: col.name, type: 'string', levels: col.levels });
      col.codes.forEach((v, r) => (values[r * columns.length + c] = v));
    }
  });
  return { columns: specs, rows, values };
}

function columnLength(col: TestColumn): number {
  return 'values' in col ? col.values.length : 'strings' in col ? col.strings.length : col.codes.length;
}

/** The one check of that name (and column); throws when there is none or several. */
export function findCheck(report: ValidationReport, name: CheckName, column?: string): Check {
  const found = report.checks.filter((c) => c.name === name && c.column === column);
  if (found.length !== 1) throw new Error(`${found.length} '${name}' checks for column ${column ?? '(none)'}`);
  return found[0];
}

/** Every check of that name. */
export function checksNamed(report: ValidationReport, name: CheckName): Check[] {
  return report.checks.filter((c) => c.name === name);
}

/** n values 0..n−1 mapped by f. */
export const seq = (n: number, f: (i: number) => number = (i) => i): number[] =>
  Array.from({ length: n }, (_, i) => f(i));
