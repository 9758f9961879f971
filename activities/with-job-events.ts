import { Context } from '@temporalio/activity';
import { LRUCache } from 'lru-cache';
import { TemporalScheduledById, TemporalScheduledStartTime } from '../common/search-attributes';
import type { Queryable } from '../db/pool';
import { fallbackQueueOf } from './fallback-queue';
import { JobEventWriter, jobEventWriter } from './job-events';

/** A schedule's runs are `<action's workflow id>-<scheduled time>` (RFC 3339, UTC, appended by Temporal). */
const SCHEDULED_RUN = /-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Jobs this worker process has announced as running (an append per activity would cost a query each). */
const ANNOUNCED_JOBS = 10_000;

/** The schedule that started a run and its scheduled time, from the run's search attributes; undefined if unknown. */
async function scheduledBy(ctx: Context, jobId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const attributes = (await ctx.client.workflow.getHandle(jobId).describe()).typedSearchAttributes;
    const scheduleId = attributes.get(TemporalScheduledById);
    if (!scheduleId) return undefined;
    const scheduledTime = attributes.get(TemporalScheduledStartTime);
    return { scheduleId, ...(scheduledTime ? { scheduledTime: scheduledTime.toISOString() } : {}) };
  } catch (err) {
    ctx.log.warn('schedule of a run not found', { jobId, error: (err as Error).message });
    return undefined;
  }
}

/** The events of a job's first activity: `schedule-run` for a schedule's run, then `status: running`. */
async function announceStart(ctx: Context, events: JobEventWriter, jobId: string): Promise<boolean> {
  if (SCHEDULED_RUN.test(jobId)) {
    const run = await scheduledBy(ctx, jobId);
    if (run) await events.append('schedule-run', run, 'schedule-run');
  }
  return events.append('status', { status: 'running' }, 'status:running');
}

/**
 * The same activities, each first appending the job-level events an activity start reveals: the job is running (its
 * first activity: `status` {status: running}, preceded by `schedule-run` {scheduleId, scheduledTime} for a schedule's
 * run), and a routed job runs on its fallback queue (`warning`, once per activity). Keys make each event once per job
 * however many activities, attempts and workers see it.
 */
export function withJobEvents<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  db: Queryable,
  activities: T,
): T {
  const announced = new LRUCache<string, true>({ max: ANNOUNCED_JOBS });
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const ctx = Context.current();
      const events = jobEventWriter(db, ctx);
      const jobId = events.jobId;
      if (jobId && !announced.has(jobId) && (await announceStart(ctx, events, jobId))) announced.set(jobId, true);
      if (jobId && fallbackQueueOf(args[0]) === ctx.info.taskQueue) {
        await events.append(
          'warning',
          {
            message: `no GPU worker started ${name} within the fallback bound; it runs on ${ctx.info.taskQueue}`,
            code: 'fell-back-to-cpu',
          },
          `warning:fallback:${name}`,
        );
      }
      return fn(...args);
    };
  }
  return wrapped as T;
}
