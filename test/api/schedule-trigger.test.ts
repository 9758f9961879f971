import { expect } from 'chai';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { ScheduleDescription, ScheduleExecutionResult } from '@temporalio/client';
import { ConflictError, NotFoundError, TooManyRequestsError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import type { ScheduleDeps } from '../../api/services/schedule-handle';
import { MAX_WAITING_TRIGGERS, triggerSchedule } from '../../api/services/schedule-trigger';

const BASE = 'clustering-00000000-0000-4000-8000-000000000000';
const runId = (second: number) => `${BASE}-${new Date(second).toISOString().replace('.000Z', 'Z')}`;

/**
 * A Temporal client that knows one schedule firing every 2 s (from the epoch: even seconds) and answers its trigger
 * with the recent action `after(triggeredAt)` makes; `describe` can be held to keep a trigger waiting.
 */
function fakeDeps(
  after: (triggeredAt: number) => ScheduleExecutionResult[],
  hold?: Promise<void>,
  limits: { running: number; max: number } = { running: 0, max: 200 },
) {
  let triggeredAt: number | undefined;
  const description = (recent: ScheduleExecutionResult[]) =>
    ({
      scheduleId: 'every-2s',
      action: {
        workflowId: BASE,
        memo: {
          schedule: {
            action: { kind: 'clustering', request: {} },
            spec: { intervals: [{ every: '2s' }] },
          },
        },
      },
      typedSearchAttributes: { get: () => DEFAULT_TENANT },
      info: { recentActions: recent },
    }) as unknown as ScheduleDescription;
  const handle = {
    describe: async () => {
      await hold;
      return description(triggeredAt === undefined ? [] : after(triggeredAt));
    },
    trigger: async () => {
      triggeredAt = Date.now();
    },
    triggers: () => (triggeredAt === undefined ? 0 : 1),
  };
  // The tenant's cap: no row of its own (the default applies), `running` jobs visible, none of the reserved listed.
  const jobs = {
    countRunning: async () => limits.running,
    visibleAmong: async () => new Set<string>(),
    statusOf: async () => undefined,
  };
  return {
    temporal: { schedule: { getHandle: () => handle } },
    pool: { query: async () => ({ rows: [] }) },
    jobs,
    maxRunningJobsPerTenant: limits.max,
  } as unknown as ScheduleDeps;
}

const operator = { role: 'operator' } as const;

const action = (second: number, scheduledAt: number): ScheduleExecutionResult => ({
  scheduledAt: new Date(scheduledAt),
  takenAt: new Date(scheduledAt + 50),
  action: { type: 'startWorkflow', workflow: { workflowId: runId(second), firstExecutionRunId: 'run' } },
});

const floorSecond = (t: number) => Math.floor(t / 1000) * 1000;

describe('schedule triggers tell their own run from scheduled ones (services/schedule-trigger.ts)', function () {
  this.timeout(30_000);

  it('triggers only in a second the schedule does not fire in, and answers with the run of that second in whole seconds', async () => {
    let second = 0;
    const deps = fakeDeps((t) => {
      second = floorSecond(t);
      return [action(second, second + 1)];
    });
    const view = await triggerSchedule(deps, 'default', 'dodge', {}, operator);
    // Every 2 s from the epoch fires at even seconds: the trigger waited for an odd one.
    expect((second / 1000) % 2).to.equal(1);
    expect(view.jobId).to.equal(runId(second));
    expect(view.scheduledTime).to.equal(new Date(second).toISOString());
  });

  it('a run in a second the schedule fires in, at exactly that second, is the scheduled one: 409 trigger_collision, never its id', async () => {
    // The trigger landed (say, late) in an even second, where the scheduled run took the name; Temporal dropped it.
    const deps = fakeDeps((t) => {
      const even = floorSecond(t) - 1000;
      return [action(even, even)];
    });
    let caught: unknown;
    await triggerSchedule(deps, 'default', 'collides', {}, operator).catch((err: unknown) => (caught = err));
    expect(caught).to.be.instanceOf(ConflictError);
    expect((caught as ConflictError).code).to.equal('trigger_collision');
    expect((caught as ConflictError).message).to.include('may be the scheduled one');
  });

  it("a run in a fire second whose scheduled time carries milliseconds is the trigger's (a scheduled run's is its fire time)", async () => {
    let even = 0;
    const deps = fakeDeps((t) => {
      even = floorSecond(t) - 1000;
      return [action(even, even + 345)];
    });
    const view = await triggerSchedule(deps, 'default', 'late', {}, operator);
    expect(view.jobId).to.equal(runId(even));
    expect(view.scheduledTime).to.equal(new Date(even).toISOString());
  });

  it('a tenant at its cap on running jobs: 429 tenant_job_limit with Retry-After, and nothing triggered; a place freed by a failed trigger is given back', async () => {
    const full = fakeDeps(() => [], undefined, { running: 3, max: 3 });
    let caught: unknown;
    await triggerSchedule(full, 'default', 'capped', {}, operator).catch((err: unknown) => (caught = err));
    expect(caught).to.be.instanceOf(TooManyRequestsError);
    expect((caught as TooManyRequestsError).code).to.equal('tenant_job_limit');
    expect((caught as TooManyRequestsError).retryAfterSeconds).to.be.greaterThan(0);
    expect((caught as TooManyRequestsError).message).to.include('runs 3 jobs, its limit is 3');
    const handle = full.temporal.schedule.getHandle('capped') as unknown as { triggers: () => number };
    expect(handle.triggers()).to.equal(0);

    // One place free: a trigger Temporal drops (409) gives it back, so the next one still gets it.
    let second = 0;
    let tries = 0;
    const oneFree = fakeDeps(
      (t) => {
        second = floorSecond(t);
        return tries > 1 ? [action(second, second + 1)] : [];
      },
      undefined,
      { running: 2, max: 3 },
    );
    const attempt = () => {
      tries++;
      return triggerSchedule(oneFree, 'default', 'one-free', {}, operator);
    };
    const dropped = await attempt().catch((err: unknown) => err);
    expect((dropped as ConflictError).code).to.equal('trigger_collision');
    const view = await attempt();
    expect(view.jobId).to.equal(runId(second));
    // That place is now held by the run: a third trigger finds the tenant full.
    const third = await attempt().catch((err: unknown) => err);
    expect((third as TooManyRequestsError).code).to.equal('tenant_job_limit');
  });

  it('no new run at all: 409 trigger_collision (Temporal dropped it)', async () => {
    const deps = fakeDeps(() => []);
    let caught: unknown;
    await triggerSchedule(deps, 'default', 'dropped', {}, operator).catch((err: unknown) => (caught = err));
    expect((caught as ConflictError).code).to.equal('trigger_collision');
  });

  it(`at most ${MAX_WAITING_TRIGGERS} triggers of one schedule wait; more are 409 trigger_queue_full`, async () => {
    // describe() hangs until the schedule "is deleted": then every trigger still queued ends with a 404.
    let release: () => void = () => undefined;
    const hold = new Promise<void>((_, reject) => (release = () => reject(new ScheduleNotFoundError('gone', 'busy'))));
    const deps = fakeDeps(() => [], hold);
    const pending = Array.from({ length: MAX_WAITING_TRIGGERS + 1 }, () =>
      triggerSchedule(deps, 'default', 'busy', {}, operator).catch((err: unknown) => err),
    );
    let caught: unknown;
    await triggerSchedule(deps, 'default', 'busy', {}, operator).catch((err: unknown) => (caught = err));
    expect(caught).to.be.instanceOf(ConflictError);
    expect((caught as ConflictError).code).to.equal('trigger_queue_full');
    // Another schedule is not held up by this one's queue.
    const other = fakeDeps(() => []);
    const handle = other.temporal.schedule.getHandle('x');
    (handle as unknown as { describe: () => Promise<never> }).describe = () =>
      Promise.reject(new ScheduleNotFoundError('gone', 'other'));
    let missing: unknown;
    await triggerSchedule(other, 'default', 'other', {}, operator).catch((err: unknown) => (missing = err));
    expect(missing).to.be.instanceOf(NotFoundError);
    // The schedule deleted: the held ones end, one after another, each a 404.
    release();
    const outcomes = await Promise.all(pending);
    expect(outcomes.map((e) => (e as NotFoundError).field)).to.deep.equal(
      new Array(MAX_WAITING_TRIGGERS + 1).fill('id'),
    );
    expect(outcomes.every((e) => e instanceof NotFoundError)).to.equal(true);
  });
});
