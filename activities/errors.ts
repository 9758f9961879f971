/** Error type for input the job cannot use; the workflow's retry policy does not retry it. */
export const INVALID_JOB_INPUT = 'InvalidJobInput';
