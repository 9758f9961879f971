import { Context } from '@temporalio/activity';
import { fallbackQueueOf } from '../activities/fallback-queue';

/** What a worker observes about each activity it runs (workers/metrics.ts turns these into Prometheus series). */
export interface ActivityObserver {
  activityFinished(e: {
    activity: string;
    taskQueue: string;
    seconds: number;
    outcome: 'completed' | 'failed' | 'cancelled';
  }): void;
  /** A routed `any` job ran here, on its fallback queue, because no GPU worker started it within the bound. */
  fellBack(e: { activity: string; taskQueue: string }): void;
}

/** Wraps every activity so its duration, outcome and (when it runs as a fallback) the fallback reach the observer. */
export function instrumentActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  observer: ActivityObserver,
): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [activity, fn] of Object.entries(activities)) {
    wrapped[activity] = async (...args: never[]) => {
      const ctx = Context.current();
      const taskQueue = ctx.info.taskQueue;
      if (fallbackQueueOf(args[0]) === taskQueue) observer.fellBack({ activity, taskQueue });
      const started = performance.now();
      let outcome: 'completed' | 'failed' | 'cancelled' = 'failed';
      try {
        const result = await fn(...args);
        outcome = 'completed';
        return result;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) outcome = 'cancelled';
        throw err;
      } finally {
        observer.activityFinished({ activity, taskQueue, seconds: (performance.now() - started) / 1000, outcome });
      }
    };
  }
  return wrapped as T;
}
