import { Table } from '../../datasets/table';
import { Check, check } from './check';
import { ValidationOptions } from './options';
import { RowSet, sharedViews } from './row-hash';

/**
 * `holdout_overlap`: the share of holdout rows equal to some row of the training table is at most
 * options.maxOverlapRate — leaked rows make holdout metrics optimistic. Rows are compared exactly (see row-hash) on
 * the columns both tables have with the same kind; with no such column the check fails, since nothing was compared.
 */
export function holdoutOverlapCheck(train: Table, holdout: Table, options: ValidationOptions): Check {
  const views = sharedViews(train, holdout);
  if (views.columns.length === 0) {
    return check(
      options.severities,
      'holdout_overlap',
      undefined,
      { reason: 'no column in common', comparedColumns: 0 },
      { maxRate: options.maxOverlapRate },
      false,
    );
  }
  const set = new RowSet(views.a);
  for (let r = 0; r < train.rows; r++) set.add(r);
  let overlapping = 0;
  for (let r = 0; r < holdout.rows; r++) if (set.has(views.b, r)) overlapping++;
  const rate = holdout.rows > 0 ? overlapping / holdout.rows : 0;
  return check(
    options.severities,
    'holdout_overlap',
    undefined,
    { overlappingRows: overlapping, rate, comparedColumns: views.columns.length },
    { maxRate: options.maxOverlapRate },
    rate <= options.maxOverlapRate,
  );
}
