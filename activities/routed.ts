import type { createActivities } from './index';

/**
 * The compute activities, the only ones a route sends to a GPU queue (workflows and registration stay on the CPU pool).
 * Job status reads it to tell a job waiting for a GPU from one waiting for any worker. Typed against the registered
 * activities, so renaming one fails the build.
 */
export const ROUTED_ACTIVITIES: ReadonlySet<string> = new Set<keyof ReturnType<typeof createActivities>>([
  'runClustering',
  'trainModel',
  'predictDataset',
]);
