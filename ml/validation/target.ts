import { Check, check } from './check';
import { ColumnData, levelCounts } from './column-data';
import { ValidationOptions } from './options';

/** How the target is used: classes to predict, or a number to regress. */
export type TargetTask = 'classification' | 'regression';

/** Rows per class of a target column: level names, or for a numeric target its distinct finite values. */
export function classCounts(col: ColumnData): Map<string, number> {
  if (col.kind === 'string') return levelCounts(col);
  const out = new Map<string, number>();
  const { sorted } = col;
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[start]) continue;
    out.set(String(sorted[start]), i - start);
    start = i;
  }
  return out;
}

/**
 * Target checks. `target_present`: the column exists. `target_missing`: no row lacks a usable target (missing,
 * non-finite or invalid cell). For classification also `target_classes` (minClasses ≤ classes ≤ maxClasses) and,
 * when there is a class, `target_min_class_share` (the rarest class's share of labelled rows ≥ minClassShare).
 * `col` is undefined when the table has no such column.
 */
export function targetChecks(
  target: string,
  col: ColumnData | undefined,
  task: TargetTask,
  options: ValidationOptions,
): Check[] {
  const s = options.severities;
  const checks = [check(s, 'target_present', target, col !== undefined, true, col !== undefined)];
  if (!col) return checks;
  const unusable = col.missing + (col.kind === 'number' ? col.nonFinite : col.invalid);
  checks.push(
    check(
      s,
      'target_missing',
      target,
      { rows: unusable, rate: col.rows > 0 ? unusable / col.rows : 0 },
      { max: 0 },
      unusable === 0,
    ),
  );
  if (task !== 'classification') return checks;
  const classes = classCounts(col);
  checks.push(
    check(
      s,
      'target_classes',
      target,
      classes.size,
      { min: options.minClasses, max: options.maxClasses },
      classes.size >= options.minClasses && classes.size <= options.maxClasses,
    ),
  );
  if (classes.size > 0) {
    let labelled = 0;
    let rarest: [string, number] | undefined;
    for (const entry of classes) {
      labelled += entry[1];
      if (!rarest || entry[1] < rarest[1]) rarest = entry;
    }
    const [name, count] = rarest as [string, number];
    const share = count / labelled;
    checks.push(
      check(
        s,
        'target_min_class_share',
        target,
        { class: name, count, share },
        { minShare: options.minClassShare },
        share >= options.minClassShare,
      ),
    );
  }
  return checks;
}
