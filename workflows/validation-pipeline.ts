import type { ByDatasetRef } from '../common/dataset-ref';
import type { ValidationPipelineInput, ValidationPipelineResult } from '../common/pipelines';
import { bindDataset } from './dataset-ref';
import { validateData } from './pipeline-activities';
import { StageTracker } from './pipeline-stage';

/**
 * A validation pipeline: one activity loads the dataset (and the reference), runs every data check and stores the
 * report in Postgres; the run completes PASSED, or FAILED_VALIDATION when an error-severity check failed. Only ids and
 * counts reach history. A dataset named by series is resolved first (workflows/dataset-ref.ts), reported as `dataset`.
 */
export async function validationPipelineWorkflow(
  request: ValidationPipelineInput | ByDatasetRef<ValidationPipelineInput>,
): Promise<ValidationPipelineResult> {
  const stages = new StageTracker('validating');
  await stages.started();
  const { job: input, dataset } = await bindDataset(request);
  const validated = await validateData({
    tenantId: input.tenantId,
    datasetId: input.datasetId,
    ...(input.referenceDatasetId ? { referenceDatasetId: input.referenceDatasetId } : {}),
    ...(input.target !== undefined ? { target: input.target } : {}),
    ...(input.task ? { task: input.task } : {}),
    ...(input.checks ? { checks: input.checks } : {}),
  });
  const status = validated.passed ? 'PASSED' : 'FAILED_VALIDATION';
  await stages.enter('completed', { status, reportId: validated.reportId, counts: validated.counts });
  return {
    kind: 'validation',
    status,
    reportId: validated.reportId,
    counts: validated.counts,
    blocking: validated.blocking,
    ...(dataset ? { dataset } : {}),
  };
}
