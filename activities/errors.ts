/** Error type for input the job cannot use; the workflow's retry policy does not retry it. */
export const INVALID_JOB_INPUT = 'InvalidJobInput';

/**
 * Error type for a computation whose result would hold NaN or ±Infinity (ml/finite-guard.ts); not retried, since the
 * same input fails the same way.
 */
export const NON_FINITE_RESULT = 'NonFiniteResult';

/** Error type for a training run whose loss became NaN or ±Infinity (ml/training/diverged.ts); not retried. */
export const TRAINING_DIVERGED = 'TrainingDiverged';
