import { defineQuery, defineSignal } from '@temporalio/workflow';

// Messages of the training workflow, in a shared module (the Temporal samples' shared.ts) so the workflow, the API and
// the activity import one definition. Modules under common/messages import only @temporalio/workflow, so workflows may
// import them (eslint.config.mjs).

/** Ask a running training job to finish after its current epoch and register what it has trained. */
export const stopSignal = defineSignal('stop');
/** Whether a stop was requested: the training activity asks once per epoch. */
export const stopRequestedQuery = defineQuery<boolean>('stopRequested');
