import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Client, ScheduleClient, ScheduleNotFoundError } from '@temporalio/client';
import {
  PREVIEW_SCHEDULE_PREFIX,
  PREVIEW_SWEEP_AGE_MS,
  startPreviewSweeper,
  sweepPreviewSchedules,
  temporalFireTimes,
} from '../../api/services/schedule-fire-times';
import { JobService } from '../../api/services/jobs';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/**
 * Schedule answers that must agree with what Temporal does: page tokens, triggers in one second, backfills outside the
 * schedule's own window, zone spelling, DST gaps and repeats (previews and backfills are Temporal's own times, from a
 * temporary paused schedule that must never run nor show). No worker: runs that start stay RUNNING and are terminated.
 */
describe('schedules agree with Temporal (tester findings)', function () {
  let stack: TestStack;
  let api: TestApi;
  const series = `sched-fix-${randomUUID().slice(0, 8)}`;
  const created: string[] = [];
  const action = {
    kind: 'clustering',
    request: { algorithm: 'kmeans', params: { k: 2, seed: 1 }, dataset: { name: series } },
  };
  const create = async (body: Record<string, unknown>) => {
    const res = await request(api, 'POST', '/api/v1/schedules', { action, ...body });
    if (res.status === 201) created.push(res.body.scheduleId);
    return res;
  };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const data = makeBlobs(
      10,
      [
        [0, 0],
        [6, 6],
      ],
      0.4,
      // Not seed 1: schedules.test.ts uploads that table and expects to create it (datasets are content-addressed).
      101,
    ).points;
    expect((await request(api, 'POST', '/api/v1/datasets', { name: series, data })).status).to.equal(201);
  });
  after(async function () {
    this.timeout(60_000);
    for (const id of created) {
      await stack.env.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
      // allow-all runs (backfills here) are not in a schedule's runningActions: find them by the schedule instead.
      for await (const run of stack.env.client.workflow.list({
        query: `TemporalScheduledById = '${id}' AND ExecutionStatus = 'Running'`,
      }))
        await stack.env.client.workflow
          .getHandle(run.workflowId)
          .terminate('test over')
          .catch(() => undefined);
    }
    await api?.close();
  });

  it('a page token the API never handed out is a 400 naming query.pageToken (JSON ones too)', async () => {
    // `eyJhIjoxfQ` is {"a":1}: JSON, as Temporal's own tokens are, but never handed out by this API.
    for (const token of ['abc', 'eyJhIjoxfQ']) {
      const res = await request(api, 'GET', `/api/v1/schedules?pageToken=${token}`);
      expect(res.status, `${token}: ${JSON.stringify(res.body)}`).to.equal(400);
      expect(res.body.error.field).to.equal('query.pageToken');
    }
  });

  it('lower-case zones: preview and create both answer 400 spec.timezone with the IANA spelling', async () => {
    const spec = { cron: ['0 3 * * *'], timezone: 'europe/berlin' };
    const preview = await request(api, 'POST', '/api/v1/schedules/preview', { spec });
    const made = await create({ spec, paused: true });
    for (const res of [preview, made]) {
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.field).to.equal('spec.timezone');
      expect(res.body.error.message).to.include('"Europe/Berlin"');
    }
  });

  it('preview equals the fire times a real schedule describes on DST days (Europe/Berlin 2027-10-31 repeats, 2027-03-28 gap)', async function () {
    this.timeout(60_000);
    const cases: Array<[string, string]> = [
      ['30 2 * * *', '2027-10-30T12:00:00Z'],
      ['*/30 2 * * *', '2027-10-30T12:00:00Z'],
      ['15 1-3 * * *', '2027-10-30T12:00:00Z'],
      ['30 2 * * *', '2027-03-26T12:00:00Z'],
    ];
    for (const [cron, from] of cases) {
      const what = `${cron} from ${from}`;
      const spec = { cron: [cron], timezone: 'Europe/Berlin', startAt: from };
      const preview = await request(api, 'POST', '/api/v1/schedules/preview', { spec, from, count: 10 });
      expect(preview.status, JSON.stringify(preview.body)).to.equal(200);
      // Not paused (a paused schedule lists no next fire times); startAt in 2027 keeps it from running now.
      const res = await create({ spec });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const described = await stack.env.client.schedule.getHandle(res.body.scheduleId).describe();
      const utc = (preview.body.fireTimes as Array<{ utc: string }>).map((t) => t.utc);
      expect(utc, what).to.deep.equal(described.info.nextActionTimes.map((t) => t.toISOString()));
      expect(preview.body.fireTimes, what).to.deep.equal(res.body.nextFireTimes);

      // One warning for the change, reading those times: a repeat counts Temporal's runs in each pass of the hour.
      const warnings = preview.body.warnings as Array<{
        kind: string;
        localTime: string;
        passes?: Array<{ start: string; end: string }>;
        runs?: { firstPass: number; secondPass: number };
      }>;
      expect(warnings, what).to.have.length(1);
      for (const w of warnings) {
        expect(w.localTime.slice(0, 10), what).to.equal(from.startsWith('2027-10') ? '2027-10-31' : '2027-03-28');
        if (w.kind === 'gap') continue;
        expect(w.kind).to.equal('repeat');
        const inPass = (p: { start: string; end: string }) => utc.filter((t) => t >= p.start && t < p.end).length;
        expect([w.runs!.firstPass, w.runs!.secondPass], what).to.deep.equal(w.passes!.map(inPass));
      }
      if (from.startsWith('2027-03'))
        expect(warnings.map((w) => [w.kind, w.localTime])).to.deep.equal([['gap', '2027-03-28T02:30:00']]);
    }
  });

  it("preview is Temporal's: day of month AND day of week, intervals from the epoch plus offset, startAt..endAt, Los Angeles vs UTC", async function () {
    this.timeout(30_000);
    const times = async (spec: Record<string, unknown>, from: string, count: number) => {
      const res = await request(api, 'POST', '/api/v1/schedules/preview', { spec, from, count });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return (res.body.fireTimes as Array<{ utc: string }>).map((t) => t.utc);
    };
    expect(await times({ cron: ['0 0 13 * FRI'], timezone: 'UTC' }, '2027-01-01T00:00:00Z', 2)).to.deep.equal([
      '2027-08-13T00:00:00.000Z',
      '2028-10-13T00:00:00.000Z',
    ]);
    expect(await times({ intervals: [{ every: '1h', offset: '5m' }] }, '2027-01-10T00:00:00Z', 2)).to.deep.equal([
      '2027-01-10T00:05:00.000Z',
      '2027-01-10T01:05:00.000Z',
    ]);
    const bounded = { intervals: [{ every: '1d' }], startAt: '2027-02-01T00:00:00Z', endAt: '2027-02-03T00:00:00Z' };
    expect(await times(bounded, '2027-01-01T00:00:00Z', 10)).to.deep.equal([
      '2027-02-01T00:00:00.000Z',
      '2027-02-02T00:00:00.000Z',
      '2027-02-03T00:00:00.000Z',
    ]);
    // Across LA's spring-forward (2027-03-14): 09:00 local is 17:00Z, then 16:00Z.
    const la = await times({ cron: ['0 9 * * *'], timezone: 'America/Los_Angeles' }, '2027-03-12T00:00:00Z', 4);
    const utc = await times({ cron: ['0 9 * * *'], timezone: 'UTC' }, '2027-03-12T00:00:00Z', 4);
    expect(la.map((t, i) => (Date.parse(t) - Date.parse(utc[i])) / 3_600_000)).to.deep.equal([8, 8, 7, 7]);
    // Jitter is not in a preview: the times are when runs are due.
    expect(await times({ intervals: [{ every: '1h' }], jitter: '10m' }, '2027-01-10T00:00:00Z', 2)).to.deep.equal([
      '2027-01-10T01:00:00.000Z',
      '2027-01-10T02:00:00.000Z',
    ]);
  });

  it('the temporary schedule a preview asks Temporal through is deleted, and one left behind by a crash never runs nor shows', async function () {
    this.timeout(30_000);
    const namespace = stack.env.namespace ?? 'default';
    const previews = () =>
      stack.env.client.workflowService
        .listSchedules({
          namespace,
          query: `ScheduleId STARTS_WITH '${PREVIEW_SCHEDULE_PREFIX}'`,
        })
        .then((r) => (r.schedules ?? []).map((x) => x.scheduleId!));
    const preview = await request(api, 'POST', '/api/v1/schedules/preview', {
      spec: { intervals: [{ every: '1s' }] },
    });
    expect(preview.status).to.equal(200);
    expect(preview.body.fireTimes).to.have.length(10);
    await eventually(previews, (ids) => ids.length === 0, 10_000);

    // The schedule it made is gone from Temporal, not just from the list.
    const real = stack.env.client.schedule;
    let leftover = '';
    /** The client with schedule.create spying on the id and, when `crash`, handles whose delete never comes. */
    const spying = (crash: boolean) => {
      const schedule = Object.create(real, {
        create: {
          value: async (options: Parameters<ScheduleClient['create']>[0]) => {
            leftover = options.scheduleId;
            const handle = await real.create(options);
            return crash ? Object.create(handle, { delete: { value: async () => undefined } }) : handle;
          },
        },
      }) as ScheduleClient;
      return { temporal: Object.create(stack.env.client, { schedule: { value: schedule } }) as Client, namespace };
    };
    const spec = { intervals: [{ every: 1000 }] };
    await temporalFireTimes(spying(false), spec, Date.now(), 3);
    let caught: unknown;
    await real
      .getHandle(leftover)
      .describe()
      .catch((err: unknown) => (caught = err));
    expect(caught, leftover).to.be.instanceOf(ScheduleNotFoundError);

    // A process dying between create and delete: the delete never comes.
    const fired = await temporalFireTimes(spying(true), spec, Date.now(), 3);
    expect(fired.times.length).to.be.at.least(3);
    expect(leftover.startsWith(PREVIEW_SCHEDULE_PREFIX)).to.equal(true);
    const handle = real.getHandle(leftover);
    try {
      const d = await handle.describe();
      expect(d.state.paused).to.equal(true);
      expect(d.state.remainingActions).to.equal(0);
      expect(d.info.nextActionTimes).to.deep.equal([]);
      expect(d.memo).to.deep.equal({ kilnPreview: true });
      expect((await request(api, 'GET', `/api/v1/schedules/${leftover}`)).status).to.equal(404);
      // Once Temporal's visibility lists it, Kiln's list still does not.
      await eventually(previews, (ids) => ids.includes(leftover), 10_000);
      const listed = await request(api, 'GET', '/api/v1/schedules?limit=200');
      expect(listed.body.schedules.map((x: { scheduleId: string }) => x.scheduleId)).to.not.include(leftover);
      // Even unpaused, it has no runs left.
      await handle.unpause('a test unpauses a leftover preview');
      await new Promise((r) => setTimeout(r, 2500));
      const after = await handle.describe();
      expect(after.info.numActionsTaken).to.equal(0);
      expect(after.info.runningActions).to.deep.equal([]);
      // The sweep an API runs: a preview younger than a minute may be another process's answer in progress.
      const deps = { temporal: stack.env.client, namespace };
      expect(PREVIEW_SWEEP_AGE_MS).to.equal(60_000);
      expect(await sweepPreviewSchedules(deps)).to.not.include(leftover);
      expect(await sweepPreviewSchedules(deps, Date.now() + PREVIEW_SWEEP_AGE_MS)).to.include(leftover);
      let swept: unknown;
      await handle.describe().catch((err: unknown) => (swept = err));
      expect(swept, leftover).to.be.instanceOf(ScheduleNotFoundError);
    } finally {
      await handle.delete().catch(() => undefined);
    }
  });

  it('the API sweeps leftover previews periodically, not only when it starts (an API restarted moments after a kill)', async function () {
    this.timeout(30_000);
    const namespace = stack.env.namespace ?? 'default';
    const deps = { temporal: stack.env.client, namespace };
    // A sweeper that started before the leftover existed: its first sweep finds nothing, a later one removes it.
    const sweeper = startPreviewSweeper(deps, { everyMs: 300, minAgeMs: 1000 });
    const real = stack.env.client.schedule;
    let leftover = '';
    const schedule = Object.create(real, {
      create: {
        value: async (options: Parameters<ScheduleClient['create']>[0]) => {
          leftover = options.scheduleId;
          const handle = await real.create(options);
          return Object.create(handle, { delete: { value: async () => undefined } });
        },
      },
    }) as ScheduleClient;
    const crashing = {
      temporal: Object.create(stack.env.client, { schedule: { value: schedule } }) as Client,
      namespace,
    };
    try {
      await temporalFireTimes(crashing, { intervals: [{ every: 1000 }] }, Date.now(), 3);
      expect(leftover.startsWith(PREVIEW_SCHEDULE_PREFIX)).to.equal(true);
      const gone = await eventually(
        () =>
          real
            .getHandle(leftover)
            .describe()
            .then(() => false)
            .catch((err: unknown) => err instanceof ScheduleNotFoundError),
        (isGone) => isGone,
        20_000,
      );
      expect(gone, leftover).to.equal(true);
    } finally {
      sweeper.stop();
      await real
        .getHandle(leftover || 'unset')
        .delete()
        .catch(() => undefined);
    }
  });

  it("backfill's answer is what Temporal runs on a DST day (`*/30 2 * * *`, Europe/Berlin, 2025-10-26)", async function () {
    this.timeout(30_000);
    const res = await create({ spec: { cron: ['*/30 2 * * *'], timezone: 'Europe/Berlin' }, paused: true });
    const id = res.body.scheduleId as string;
    const backfill = await request(api, 'POST', `/api/v1/schedules/${id}/backfill`, {
      // A past DST day: a backfill may not reach into the future.
      start: '2025-10-25T23:00:00Z',
      end: '2025-10-26T03:00:00Z',
      overlap: 'allow-all',
    });
    expect(backfill.status, JSON.stringify(backfill.body)).to.equal(202);
    const ran = await eventually(
      () => stack.env.client.schedule.getHandle(id).describe(),
      (d) => d.info.recentActions.length >= backfill.body.runs,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 1000)); // nothing more comes
    const scheduled = (await stack.env.client.schedule.getHandle(id).describe()).info.recentActions
      .map((a) => a.scheduledAt.toISOString())
      .sort();
    expect(scheduled).to.have.length(ran.info.recentActions.length);
    expect(backfill.body.scheduledTimes).to.deep.equal(scheduled);
    expect(backfill.body.runs).to.be.at.least(1);
  });

  it('two triggers in one second both start a run, each answered with its own job', async function () {
    this.timeout(60_000);
    const res = await create({ spec: { intervals: [{ every: '365d' }] }, paused: true });
    const id = res.body.scheduleId as string;
    const [a, b] = await Promise.all([
      request(api, 'POST', `/api/v1/schedules/${id}/trigger`),
      request(api, 'POST', `/api/v1/schedules/${id}/trigger`),
    ]);
    expect([a.status, b.status], JSON.stringify([a.body, b.body])).to.deep.equal([202, 202]);
    expect(a.body.jobId).to.be.a('string');
    expect(b.body.jobId).to.be.a('string').and.not.equal(a.body.jobId);
    const d = await stack.env.client.schedule.getHandle(id).describe();
    expect(d.info.recentActions.map((x) => x.action.workflow.workflowId)).to.include.members([
      a.body.jobId,
      b.body.jobId,
    ]);
  });

  it('backfill answers what Temporal runs: clipped to endAt, refused outside startAt..endAt, start == end allowed', async function () {
    this.timeout(60_000);
    const late = await create({
      spec: { intervals: [{ every: '1h' }], startAt: '2026-01-01T00:00:00Z' },
      paused: true,
    });
    const outside = await request(api, 'POST', `/api/v1/schedules/${late.body.scheduleId}/backfill`, {
      start: '2025-01-01T00:00:00Z',
      end: '2025-01-01T02:00:00Z',
    });
    expect(outside.status, JSON.stringify(outside.body)).to.equal(400);
    expect(outside.body.error.field).to.equal('end');

    const ending = await create({
      spec: { intervals: [{ every: '1h' }], endAt: '2026-01-01T00:30:00Z' },
      paused: true,
    });
    const clipped = await request(api, 'POST', `/api/v1/schedules/${ending.body.scheduleId}/backfill`, {
      start: '2026-01-01T00:00:00Z',
      end: '2026-01-01T01:00:00Z',
    });
    expect(clipped.status, JSON.stringify(clipped.body)).to.equal(202);
    expect(clipped.body.scheduledTimes).to.deep.equal(['2026-01-01T00:00:00.000Z']);
    expect(clipped.body.clippedTo.end).to.equal('2026-01-01T00:30:00.000Z');

    const one = await request(api, 'POST', `/api/v1/schedules/${late.body.scheduleId}/backfill`, {
      start: '2026-01-01T05:00:00Z',
      end: '2026-01-01T05:00:00Z',
    });
    expect(one.status, JSON.stringify(one.body)).to.equal(202);
    expect(one.body.runs).to.equal(1);
  });

  it('trigger and backfill count against the tenant cap on running jobs (429 tenant_job_limit naming the places free)', async function () {
    this.timeout(120_000);
    const tenant = await createTestTenant(stack.pool, `capsched-${randomUUID().slice(0, 8)}`);
    await stack.pool.query('UPDATE tenants SET max_running_jobs = 3 WHERE id = $1', [tenant]);
    const key = bearer(await createTestKey(stack.pool, { tenantId: tenant, role: 'editor' }));
    const jobs = new JobService(stack.env.client);
    const direct: string[] = [];
    try {
      const data = makeBlobs(
        10,
        [
          [0, 0],
          [6, 6],
        ],
        0.4,
        102,
      ).points;
      const uploaded = await request(api, 'POST', '/api/v1/datasets', { name: series, data }, key);
      expect(uploaded.status, JSON.stringify(uploaded.body)).to.equal(201);
      const made = await request(
        api,
        'POST',
        '/api/v1/schedules',
        // Fires at 03:00 UTC on 1 January: never during the test; each of 2018..2025 once in the backfill window.
        { action, spec: { cron: ['0 3 1 1 *'], timezone: 'UTC' } },
        key,
      );
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      const id = made.body.scheduleId as string;
      created.push(id);
      // Three jobs started directly fill the cap (no worker: they stay RUNNING).
      for (let i = 0; i < 3; i++) {
        const started = await request(
          api,
          'POST',
          '/api/v1/clustering',
          {
            algorithm: 'kmeans',
            params: { k: 2 },
            data: [
              [0, 0],
              [0, 1],
              [5, 5],
              [5, 6],
            ],
          },
          key,
        );
        expect(started.status, JSON.stringify(started.body)).to.equal(202);
        direct.push(started.body.jobId);
      }
      const trigger = () => request(api, 'POST', `/api/v1/schedules/${id}/trigger`, undefined, key);
      const backfill = (overlap?: string) =>
        request(
          api,
          'POST',
          `/api/v1/schedules/${id}/backfill`,
          { start: '2018-01-01T00:00:00Z', end: '2025-12-31T00:00:00Z', ...(overlap ? { overlap } : {}) },
          key,
        );
      const refused = (res: Awaited<ReturnType<typeof trigger>>, what: string, free?: number) => {
        expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(429);
        expect(res.body.error.code, what).to.equal('tenant_job_limit');
        expect(Number(res.headers.get('retry-after')), what).to.be.greaterThan(0);
        if (free !== undefined) expect(res.body.error.message, what).to.include(`${free} free`);
      };
      refused(await trigger(), 'trigger at the cap');
      refused(await backfill(), 'buffer-all backfill at the cap (its first run needs a place)', 0);

      // One ends: one place free. An allow-all backfill of 8 would start 8 at once; a trigger needs one.
      await stack.env.client.workflow.getHandle(direct.pop()!).terminate('make room');
      await eventually(
        () => jobs.countRunning(tenant),
        (n) => n === 2,
      );
      const all = await backfill('allow-all');
      refused(all, 'allow-all backfill of 8 with one place free', 1);
      expect(all.body.error.message).to.include('8 runs at once');
      const triggered = await trigger();
      expect(triggered.status, JSON.stringify(triggered.body)).to.equal(202);
      // Its run holds the place at once, before visibility lists it.
      refused(await trigger(), 'a second trigger right after');
      await eventually(
        () => jobs.countRunning(tenant),
        (n) => n === 3,
      );
      refused(await trigger(), 'a trigger once visibility lists the run');
      expect((await stack.env.client.schedule.getHandle(id).describe()).info.numActionsTaken).to.equal(1);
    } finally {
      for (const jobId of direct)
        await stack.env.client.workflow
          .getHandle(jobId)
          .terminate('test over')
          .catch(() => undefined);
    }
  });
});
