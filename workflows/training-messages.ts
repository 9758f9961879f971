import { defineQuery, defineSignal } from '@temporalio/workflow';

// Messages of the training workflow, in their own module so the API and the activity can use them without importing
// the workflow itself (the Temporal samples' shared.ts).

/** Ask a running training job to finish after its current epoch and register what it has trained. */
export const stopSignal = defineSignal('stop');
/** Whether a stop was requested: the training activity asks once per epoch. */
export const stopRequestedQuery = defineQuery<boolean>('stopRequested');
