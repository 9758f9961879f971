/**
 * The fallback queue a routed job's input names, if any (ClusteringJobInput / TrainingJobInput / BatchPredictJobInput
 * `route.fallback.taskQueue`): an activity taken from that queue runs as the fallback, because no GPU worker started
 * it within the bound.
 */
export function fallbackQueueOf(input: unknown): string | undefined {
  const route = (input as { route?: { fallback?: { taskQueue?: unknown } } } | null)?.route;
  const queue = route?.fallback?.taskQueue;
  return typeof queue === 'string' ? queue : undefined;
}
