import { randomUUID } from 'node:crypto';
import { Client, ScheduleNotFoundError, ScheduleSpec } from '@temporalio/client';
import { msNumberToTs, tsToMs } from '@temporalio/common/lib/time';
import type { Logger } from '../../common/logger';

/**
 * When a spec fires, asked of Temporal itself: its scheduler resolves local times that DST repeats or skips in ways no
 * rule Kiln could copy reproduces (common/schedule/dst-warnings.ts lists some), so previews and backfill answers take
 * Temporal's own times. Temporal answers for a schedule only (ListScheduleMatchingTimes, a query to the schedule's
 * scheduler), so this creates a temporary one, asks, and deletes it.
 *
 * The temporary schedule can never start anything: it is created paused with no runs left (`remainingActions: 0`:
 * unpausing it fires nothing), and its action, were it triggered or backfilled by hand, starts a workflow type no
 * worker has on a task queue no worker polls, timing out after a second. It carries no Kiln tenant, so
 * GET /api/v1/schedules never lists it and the schedule routes answer 404 for it; its memo marks it a preview. A
 * process that dies between create and delete leaves it so, paused and inert, under PREVIEW_SCHEDULE_PREFIX.
 */

/** What asking Temporal needs: its client and namespace, and where to log a failed clean-up. */
export interface FireTimesDeps {
  temporal: Client;
  namespace: string;
  log?: Logger;
}

/** The id prefix of the temporary schedules (`kiln-preview-<uuid>`). */
export const PREVIEW_SCHEDULE_PREFIX = 'kiln-preview-';
/** Their memo: `{ kilnPreview: true }`. */
export const PREVIEW_MEMO = { kilnPreview: true } as const;

/** The most times one ListScheduleMatchingTimes answer holds (the server's cap, 1000): more take another call. */
const PAGE = 1000;
/** The end of time for a search with no end of its own (protobuf's largest timestamp, 9999-12-31T23:59:59Z). */
const END_OF_TIME_S = 253_402_300_799;

/** Temporal's fire times and how far they are known to be complete. */
export interface TemporalFireTimes {
  /** Fire times, ms since the epoch, ascending: the first `count` (or all there are) after `after`, up to `until`. */
  times: number[];
  /** Every fire time up to this instant (ms) is in `times`; Infinity when `times` holds all there are. */
  covered: number;
}

/**
 * The nominal fire times of `spec` that Temporal's scheduler computes after `after` (ms, exclusive, as Temporal counts
 * from it: a schedule from the instant it is created, a backfill from 1 ms before its start), through `until` (ms,
 * inclusive; default no end), the first `count` of them, and at most PAGE more when one call returned them anyway.
 * Within the spec's own startAt..endAt (Temporal's server applies them). Jitter is left out: these are the times runs
 * are due, each starting up to `jitter` later. Throws what the Temporal client throws: TypeError or INVALID_ARGUMENT for
 * a spec Temporal refuses, a connection error when it is unreachable.
 */
export async function temporalFireTimes(
  deps: FireTimesDeps,
  spec: ScheduleSpec,
  after: number,
  count: number,
  until?: number,
): Promise<TemporalFireTimes> {
  const { jitter: _jitter, ...nominal } = spec;
  const scheduleId = `${PREVIEW_SCHEDULE_PREFIX}${randomUUID()}`;
  const handle = await deps.temporal.schedule.create({
    scheduleId,
    spec: nominal,
    action: {
      type: 'startWorkflow',
      workflowType: 'kilnSchedulePreviewNeverRuns',
      workflowId: scheduleId,
      taskQueue: 'kiln-schedule-preview-never-polled',
      args: [],
      workflowExecutionTimeout: '1s',
      memo: PREVIEW_MEMO,
    },
    memo: PREVIEW_MEMO,
    state: {
      paused: true,
      note: 'Kiln schedule preview: deleted once Temporal has listed its fire times; it never runs',
      remainingActions: 0,
    },
  });
  try {
    const end = until === undefined ? END_OF_TIME_S * 1000 : until;
    const times: number[] = [];
    let from = after;
    for (;;) {
      const page = await matchingTimes(deps, scheduleId, from, end);
      times.push(...page);
      // A page short of the cap holds every time up to `end`; a full one goes on from its last time, as the
      // scheduler's own search goes from one fire time to the next.
      if (page.length < PAGE) return { times, covered: until === undefined ? Infinity : until };
      if (times.length >= count) return { times, covered: times[times.length - 1] };
      from = page[page.length - 1];
    }
  } finally {
    await handle.delete().catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) return;
      deps.log?.warn({ err, scheduleId }, 'could not delete a schedule preview (it is paused and never runs)');
    });
  }
}

/** One ListScheduleMatchingTimes call: the fire times in (from, end], ms, at most PAGE. */
async function matchingTimes(deps: FireTimesDeps, scheduleId: string, from: number, end: number): Promise<number[]> {
  const response = await deps.temporal.workflowService.listScheduleMatchingTimes({
    namespace: deps.namespace,
    scheduleId,
    startTime: timestamp(from),
    endTime: timestamp(end),
  });
  return (response.startTime ?? []).map((t) => tsToMs(t));
}

/** ms since the epoch as a protobuf Timestamp, nanos in 0..999,999,999 before 1970 too (msNumberToTs's go negative). */
function timestamp(ms: number): ReturnType<typeof msNumberToTs> {
  const seconds = Math.floor(ms / 1000);
  return { ...msNumberToTs(seconds * 1000), nanos: Math.round(ms - seconds * 1000) * 1_000_000 };
}

/**
 * How old a preview schedule must be before a sweep deletes it: older than any preview still being answered (a preview
 * takes a few Temporal calls, each bounded by the API's Temporal deadline, seconds).
 */
export const PREVIEW_SWEEP_AGE_MS = 60_000;
/** How often the API sweeps (startPreviewSweeper). */
export const PREVIEW_SWEEP_EVERY_MS = 60_000;

/**
 * Deletes the temporary preview schedules (PREVIEW_SCHEDULE_PREFIX) that a process which died mid-preview left behind,
 * once they are older than `minAgeMs` (a younger one may belong to a preview another API process is answering now).
 * They are inert (paused, no runs left) but show on the Temporal UI's Schedules page. The API runs this every
 * PREVIEW_SWEEP_EVERY_MS (startPreviewSweeper), so a process killed mid-preview leaves them a minute or two. Returns the ids deleted; throws what the Temporal client throws for the listing (a delete that fails is
 * logged and skipped).
 */
export async function sweepPreviewSchedules(
  deps: FireTimesDeps,
  now = Date.now(),
  minAgeMs = PREVIEW_SWEEP_AGE_MS,
): Promise<string[]> {
  const deleted: string[] = [];
  for await (const summary of deps.temporal.schedule.list({
    query: `ScheduleId STARTS_WITH '${PREVIEW_SCHEDULE_PREFIX}'`,
  })) {
    if (!summary.scheduleId.startsWith(PREVIEW_SCHEDULE_PREFIX)) continue;
    const handle = deps.temporal.schedule.getHandle(summary.scheduleId);
    try {
      const description = await handle.describe();
      if (description.memo?.kilnPreview !== true) continue;
      if (now - description.info.createdAt.getTime() < minAgeMs) continue;
      await handle.delete();
      deleted.push(summary.scheduleId);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) continue;
      deps.log?.warn({ err, scheduleId: summary.scheduleId }, 'could not sweep a leftover schedule preview');
    }
  }
  return deleted;
}

/** A periodic sweep that can be stopped. */
export interface PreviewSweeper {
  /** Clears the timer; a sweep in progress finishes on its own. */
  stop(): void;
}

/**
 * Sweeps leftover previews (sweepPreviewSchedules, `minAgeMs`) now and every `everyMs` after, one sweep at a time, on a
 * timer that does not keep the process alive. Deleted ids are logged; a sweep that fails (Temporal unreachable) is
 * logged and the next one tries again.
 */
export function startPreviewSweeper(
  deps: FireTimesDeps,
  { everyMs = PREVIEW_SWEEP_EVERY_MS, minAgeMs = PREVIEW_SWEEP_AGE_MS } = {},
): PreviewSweeper {
  let sweeping = false;
  const sweep = () => {
    if (sweeping) return;
    sweeping = true;
    void sweepPreviewSchedules(deps, Date.now(), minAgeMs)
      .then((ids) => {
        if (ids.length) deps.log?.info({ scheduleIds: ids }, `deleted ${ids.length} leftover schedule preview(s)`);
      })
      .catch((err: unknown) => deps.log?.warn({ err }, 'could not list leftover schedule previews'))
      .finally(() => {
        sweeping = false;
      });
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
