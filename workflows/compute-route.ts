import { ActivityFailure, ActivityOptions, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { ComputeRoute } from '../common/jobs';

function isScheduleToStartTimeout(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

/**
 * Runs a compute activity on the route's queue; if no worker there starts it within the route's bound, on the
 * fallback queue. `on(taskQueue, scheduleToStartSeconds)` gives the activity proxied to that queue.
 */
export async function runRouted<I, R>(
  route: ComputeRoute,
  on: (taskQueue: string, scheduleToStartSeconds?: number) => (input: I) => Promise<R>,
  input: I,
): Promise<{ value: R; fellBack: boolean }> {
  try {
    return { value: await on(route.taskQueue, route.fallback?.afterSeconds)(input), fellBack: false };
  } catch (err) {
    if (!route.fallback || !isScheduleToStartTimeout(err)) throw err;
    return { value: await on(route.fallback.taskQueue)(input), fellBack: true };
  }
}

/**
 * `on` for runRouted: activity `name` proxied with `options` to a given task queue, with a schedule-to-start bound
 * when a fallback waits behind it.
 */
export function activityOnQueue<A extends object, K extends keyof A>(options: ActivityOptions, name: K) {
  return (taskQueue: string, scheduleToStartSeconds?: number): A[K] =>
    proxyActivities<A>({
      ...options,
      taskQueue,
      ...(scheduleToStartSeconds ? { scheduleToStartTimeout: `${scheduleToStartSeconds} seconds` } : {}),
    } as ActivityOptions)[name] as A[K];
}
