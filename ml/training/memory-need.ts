import type { TrainingJobInput } from '../../common/jobs';
import type { Table } from '../../datasets/table';
import { estimateTrainingMemoryMb } from '../../gpu/memory-estimate';
import { classNames } from './preprocess';

/**
 * The device memory (MiB) a training job needs on its table: gpu/memory-estimate.ts's MLP formula with the table's
 * rows, the resolved features and the output width (the target's classes, or 1 for regression). The API computes it at
 * submission (recorded with the job, checked against the devices); the activity recomputes it for jobs that carry none.
 */
export function trainingMemoryNeedMb(
  table: Table,
  input: Pick<TrainingJobInput, 'target' | 'features' | 'spec' | 'training'>,
): number {
  const features =
    input.features?.length ?? table.columns.filter((c) => c.name !== input.target && c.type === 'number').length;
  return estimateTrainingMemoryMb({
    rows: Math.max(1, table.rows),
    features: Math.max(1, features),
    classes: input.spec.task === 'classification' ? classNames(table, input.target).length : 1,
    layers: input.spec.layers,
    batchSize: input.training.batchSize,
  });
}
