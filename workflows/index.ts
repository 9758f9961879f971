// Every workflow a Kiln worker can run; workers bundle this file.
export { clusteringWorkflow } from './clustering';
export { trainingWorkflow } from './training';
export { batchPredictWorkflow } from './batch-predict';
export { validationPipelineWorkflow } from './validation-pipeline';
export { fullPipelineWorkflow } from './full-pipeline';
