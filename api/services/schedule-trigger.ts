import type { ScheduleExecutionResult } from '@temporalio/client';
import { ConflictError } from '../../common/errors';
import { mayFireAt } from '../../common/schedule/fires-at';
import { OverlapPolicy, triggerRequest } from '../schemas/schedules';
import { parseWith } from '../schemas/validate';
import { jobLinks } from './accepted';
import AsyncLock from 'async-lock';
import { checkScheduleCaller, ScheduleCaller, scheduleJobLimitDeps } from './schedule-caller';
import {
  checkScheduleTenant,
  describeOr404,
  KilnSchedule,
  orNotFound,
  runSecond,
  ScheduleDeps,
} from './schedule-handle';
import { compileSpec, temporalOverlap } from './schedule-spec';
import { reserveTenantJobSlot } from './tenant-job-limit';

/**
 * POST /api/v1/schedules/:id/trigger: one run now, answered with that run and no other. Temporal names a run by its
 * schedule's action id plus its nominal second (`<id>-2027-01-01T00:00:00Z`), a trigger's being the second Temporal
 * took it in; two runs with one name cannot both start, and Temporal drops the second without telling the caller. So:
 *
 * - triggers of one schedule go one at a time in this process, each in a new second (the queue below, at most
 *   MAX_WAITING_TRIGGERS waiting), and none in a second the spec may fire in (common/schedule/fires-at.ts), when that
 *   can be avoided by waiting a little;
 * - the triggered run is told apart from scheduled runs precisely: a new recent action whose scheduled time lies in
 *   its own id's second (a trigger's nominal and scheduled time are one instant) and whose second the spec cannot fire
 *   in, or, with no jitter, whose scheduled time is not a whole second (a scheduled run's is its fire time);
 * - anything else is 409 `trigger_collision`: a run in a second the spec may fire in that cannot be told from the
 *   scheduled one, or no run at all (Temporal dropped the trigger, its name taken).
 *
 * Another API process triggering the same schedule in the same second is not seen here (README: Schedules).
 */

/** Triggers of one schedule that may wait behind the running one; more are refused (409 `trigger_queue_full`). */
export const MAX_WAITING_TRIGGERS = 10;

/**
 * Triggers of one schedule, one after another (async-lock, which refuses a call when MAX_WAITING_TRIGGERS already
 * wait); the second of each schedule's last triggered run.
 */
const triggers = new AsyncLock({ maxPending: MAX_WAITING_TRIGGERS });
const lastTriggerSecond = new Map<string, number>();

/** Polls of describe() for the triggered run, and the pause between them (ms): Temporal usually starts it within 1 s. */
const TRIGGER_POLLS = 30;
const TRIGGER_POLL_MS = 100;
/** Once a run that may be the trigger's or a scheduled one showed, how much longer (ms) the trigger's own may take. */
const AMBIGUOUS_GRACE_MS = 1000;
/** How far (ms) Temporal's clock may lag this process's: a trigger's scheduled time is Temporal's now. */
const CLOCK_SKEW_MS = 2000;
/** A trigger within this much (ms) of a second the spec may fire in waits for the second after it. */
const DODGE_MARGIN_MS = 500;
/** At most this many seconds in a row are dodged (a spec firing every second leaves none free). */
const MAX_DODGED_SECONDS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The answer of a trigger: the run it started. */
export interface TriggerView {
  scheduleId: string;
  overlap: OverlapPolicy;
  jobId: string;
  /** The run's nominal second (ISO), as its job id and GET /api/v1/jobs say. */
  scheduledTime: string;
  links: { job: string; schedule: string };
}

/**
 * POST .../trigger: one run now (overlap policy default allow-all, so it starts even while another runs, and even while
 * the schedule is paused or past its endAt: Temporal's trigger ignores both), answered with the run's job id once
 * Temporal has started it. The run is the caller's start: ForbiddenError `protected_alias` when the action is a full
 * pipeline only an approver may start and the caller is none (schedule-caller.ts); TooManyRequestsError
 * `tenant_job_limit` (Retry-After) when the tenant runs as many jobs as its cap allows (a place is reserved before the
 * trigger, as a job route's start reserves one, and given back when no run starts). ConflictError `trigger_queue_full`
 * when MAX_WAITING_TRIGGERS already wait for this schedule; `trigger_collision` when the run cannot be told apart or
 * Temporal dropped it (the route adds Retry-After); NotFoundError for an unknown schedule, or one deleted meanwhile.
 */
export async function triggerSchedule(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  body: unknown,
  caller: ScheduleCaller,
): Promise<TriggerView> {
  checkScheduleTenant(tenantId, id);
  const { overlap } = parseWith(triggerRequest, body);
  // The lock refuses a call without running it only when its queue is full (no timeouts are set): a rejection before
  // triggerOnce started is that.
  let started = false;
  try {
    return await triggers.acquire(id, () => {
      started = true;
      return triggerOnce(deps, tenantId, id, overlap, caller);
    });
  } catch (err) {
    if (started) throw err;
    throw new ConflictError(
      `schedule ${JSON.stringify(id)}: ${MAX_WAITING_TRIGGERS} triggers already wait for it (they start one a second); try again shortly`,
      'trigger_queue_full',
    );
  }
}

async function triggerOnce(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  overlap: OverlapPolicy,
  caller: ScheduleCaller,
): Promise<TriggerView> {
  const { handle, description, memo } = await describeOr404(deps, tenantId, id);
  await checkScheduleCaller(deps, tenantId, id, memo, caller, 'triggering');
  // Temporal names the run once it starts it (<base>-<second>): reserved under a provisional id, renamed when found.
  const slot = await reserveTenantJobSlot(
    scheduleJobLimitDeps(deps),
    tenantId,
    `${description.action.workflowId ?? id}-trigger`,
  );
  try {
    const view = await triggerRun(id, overlap, { handle, description, memo });
    slot.startedAs(view.jobId);
    return view;
  } catch (err) {
    slot.release();
    throw err;
  }
}

/** The trigger itself, once the caller may and a place under the cap is held: the run it started, or why none. */
async function triggerRun(
  id: string,
  overlap: OverlapPolicy,
  { handle, description, memo }: Pick<KilnSchedule, 'handle' | 'description' | 'memo'>,
): Promise<TriggerView> {
  const compiled = compileSpec(memo.spec);
  const spec = compiled.fire;
  const jitter = Number(compiled.temporal.jitter ?? 0) > 0;
  // A new second since this process's last trigger, and, where it takes little waiting, one the spec cannot fire in.
  let at = Math.max(Date.now(), ((lastTriggerSecond.get(id) ?? -Infinity) + 1) * 1000);
  for (let dodged = 0; dodged < MAX_DODGED_SECONDS; dodged++) {
    const second = Math.floor(at / 1000) * 1000;
    if (mayFireAt(spec, second)) at = second + 1000;
    else if (at - second > 1000 - DODGE_MARGIN_MS && mayFireAt(spec, second + 1000)) at = second + 2000;
    else break;
  }
  if (at > Date.now()) await sleep(at - Date.now());

  const key = (a: ScheduleExecutionResult) =>
    `${a.action.workflow.workflowId}/${a.action.workflow.firstExecutionRunId}`;
  const seen = new Set(description.info.recentActions.map(key));
  const seenIds = new Set(description.info.recentActions.map((a) => a.action.workflow.workflowId));
  const triggeredAt = Date.now();
  await orNotFound(id, handle.trigger(temporalOverlap(overlap)));

  let ambiguous: { jobId: string; second: number; since: number } | undefined;
  for (let poll = 0; poll < TRIGGER_POLLS; poll++) {
    const recent = (await orNotFound(id, handle.describe())).info.recentActions;
    for (const action of recent) {
      if (seen.has(key(action))) continue;
      const jobId = action.action.workflow.workflowId;
      const scheduled = action.scheduledAt.getTime();
      const second = runSecond(jobId) ?? Math.floor(scheduled / 1000) * 1000;
      // A scheduled run of another second (a fire time passing while this waits), or one taken late: not this one.
      if (Math.floor(scheduled / 1000) * 1000 !== second || scheduled < triggeredAt - CLOCK_SKEW_MS) continue;
      // The same id as an earlier run (Temporal lets a trigger reuse the id of a run that ended): ambiguous.
      const reused = seenIds.has(jobId);
      const mine = !reused && (!mayFireAt(spec, second) || (!jitter && scheduled % 1000 !== 0));
      if (mine) {
        lastTriggerSecond.set(id, second / 1000);
        return {
          scheduleId: id,
          overlap,
          jobId,
          scheduledTime: new Date(second).toISOString(),
          links: { job: jobLinks(jobId).self, schedule: `/api/v1/schedules/${id}` },
        };
      }
      ambiguous ??= { jobId, second, since: Date.now() };
    }
    if (ambiguous && Date.now() - ambiguous.since > AMBIGUOUS_GRACE_MS) break;
    await sleep(TRIGGER_POLL_MS);
  }
  lastTriggerSecond.set(id, Math.floor(Math.max(triggeredAt, Date.now()) / 1000));
  throw new ConflictError(
    ambiguous
      ? `schedule ${JSON.stringify(id)}: the trigger landed in ${new Date(ambiguous.second).toISOString()}, a second the ` +
          `schedule fires in: the run there (${ambiguous.jobId}) may be the scheduled one or this trigger's, and Temporal ` +
          'starts only one of two runs with one name; try again in a second'
      : `schedule ${JSON.stringify(id)}: the triggered run did not start (its id, the schedule's plus the second, was ` +
          'taken by another run in the same second); try again in a second',
    'trigger_collision',
  );
}
