import { Table } from '../../datasets/table';
import { Check, check } from './check';
import { FloatSorter } from './float-sort';
import { readColumn } from './column-data';
import { ValidationOptions } from './options';
import { classCounts } from './target';

/**
 * `holdout_unseen_target` (classification): every class of the holdout's target also occurs in the training table's
 * target. A class the model never saw is one it can never predict: each of its holdout rows is an error that no
 * candidate can avoid, and the comparison with a champion measures that class, not the models. Classes are compared
 * by name (a text level, or a numeric target's value), so tables that number their levels differently agree.
 * Observed: the unseen classes (up to options.reportedLevels, most frequent first), how many there are and the holdout
 * rows holding them. Undefined (no check) when either table lacks the target column.
 */
export function holdoutUnseenTargetCheck(
  train: Table,
  holdout: Table,
  target: string,
  options: ValidationOptions,
): Check | undefined {
  const t = train.columns.findIndex((c) => c.name === target);
  const h = holdout.columns.findIndex((c) => c.name === target);
  if (t < 0 || h < 0) return undefined;
  const sorter = new FloatSorter();
  const seen = classCounts(readColumn(train, t, sorter));
  const unseen = [...classCounts(readColumn(holdout, h, sorter))].filter(([name]) => !seen.has(name));
  const rows = unseen.reduce((sum, [, count]) => sum + count, 0);
  const named = unseen.sort((a, b) => b[1] - a[1]).slice(0, options.reportedLevels);
  return check(
    options.severities,
    'holdout_unseen_target',
    target,
    { classes: named.map(([name]) => name), distinct: unseen.length, rows },
    { trainingClasses: seen.size, maxUnseen: 0 },
    unseen.length === 0,
  );
}
