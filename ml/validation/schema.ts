import { Table } from '../../datasets/table';
import { Check, check, Severity, CheckName } from './check';

/** A column the validated table must have: its name and kind (categorical columns are 'string'). */
export interface ExpectedColumn {
  name: string;
  type: 'number' | 'string';
}

/** The expected columns of a reference table. */
export function schemaOf(table: Table): ExpectedColumn[] {
  return table.columns.map((c) => ({ name: c.name, type: c.type }));
}

/**
 * Schema checks against `expected`: `column_present` for every expected column, `column_type` for every expected
 * column that is present (observed type vs expected), `unexpected_column` for every table column not expected.
 * Columns are matched by name (the first column of a name when a table repeats one).
 */
export function schemaChecks(
  table: Table,
  expected: readonly ExpectedColumn[],
  severities: Readonly<Record<CheckName, Severity>>,
): Check[] {
  const checks: Check[] = [];
  const actual = new Map<string, 'number' | 'string'>();
  for (const c of table.columns) if (!actual.has(c.name)) actual.set(c.name, c.type);
  const wanted = new Set<string>();
  for (const e of expected) {
    wanted.add(e.name);
    const type = actual.get(e.name);
    checks.push(check(severities, 'column_present', e.name, type !== undefined, true, type !== undefined));
    if (type !== undefined) checks.push(check(severities, 'column_type', e.name, type, e.type, type === e.type));
  }
  for (const name of actual.keys()) {
    if (!wanted.has(name)) checks.push(check(severities, 'unexpected_column', name, 'present', 'absent', false));
  }
  return checks;
}
