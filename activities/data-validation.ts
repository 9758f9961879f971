import type { Table } from '../datasets/table';
import type { ValidationCounts } from '../common/pipelines';
import { validateTable, type ValidationRequest } from '../ml/validation/validate';
import type { ValidationReport } from '../ml/validation/report';

/** What a pipeline asks of data validation (ml/validation/validate.ts ValidationRequest, the fields it uses). */
export interface DataValidationRequest {
  table: Table;
  reference?: Table;
  holdout?: Table;
  target?: string;
  task?: 'classification' | 'regression';
  options?: Record<string, unknown>;
}

/**
 * Runs every data check (ml/validation) and counts the outcome for the pipeline: `passed` when no error-severity check
 * failed. Throws RangeError for out-of-range options (the API checks them first).
 */
export function runDataValidation(req: DataValidationRequest): {
  report: ValidationReport;
  counts: ValidationCounts;
  passed: boolean;
} {
  const report = validateTable(req as ValidationRequest);
  const failed = report.checks.filter((c) => !c.passed);
  const errors = failed.filter((c) => c.severity === 'error').length;
  return {
    report,
    counts: { checks: report.checks.length, failed: failed.length, errors, warnings: failed.length - errors },
    passed: errors === 0,
  };
}
