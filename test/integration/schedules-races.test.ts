import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Client, ScheduleClient, ScheduleHandle } from '@temporalio/client';
import { NotFoundError } from '../../common/errors';
import { TemporalScheduledStartTime } from '../../common/search-attributes';
import type { ScheduleDeps } from '../../api/services/schedule-handle';
import { JobService } from '../../api/services/jobs';
import {
  backfillSchedule,
  deleteSchedule,
  setPaused,
  triggerSchedule,
  updateSchedule,
} from '../../api/services/schedules';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/**
 * What a second round of testers found: concurrent PATCHes, PATCH racing DELETE, triggers landing on a scheduled second,
 * a DST preview that froze the API, empty pause notes, and the smaller answers (warnings, bodies, page tokens, future
 * backfills, list shapes). No worker: runs stay RUNNING and are terminated afterwards.
 */
describe('schedules under concurrency, races and odd input (second tester round)', function () {
  let stack: TestStack;
  let api: TestApi;
  const series = `sched-race-${randomUUID().slice(0, 8)}`;
  const labelled = `${series}-labelled`;
  const created: string[] = [];
  const clustering = {
    kind: 'clustering',
    request: { algorithm: 'kmeans', params: { k: 2 }, dataset: { name: series } },
  };
  const training = (epochs: number) => ({
    kind: 'training',
    request: {
      dataset: { name: labelled },
      target: 'label',
      model: { name: `${series}-mlp` },
      spec: { task: 'classification', layers: [{ units: 4, activation: 'relu' }] },
      training: { epochs, batchSize: 8, learningRate: 0.05, seed: 1 },
    },
  });
  const create = async (body: Record<string, unknown>) => {
    const res = await request(api, 'POST', '/api/v1/schedules', { action: clustering, ...body });
    if (res.status === 201) created.push(res.body.scheduleId);
    return res;
  };
  const yearly = { intervals: [{ every: '365d' }] };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const blobs = makeBlobs(
      15,
      [
        [0, 0],
        [6, 6],
      ],
      0.4,
      // Seeds no other schedule test uploads (datasets are content-addressed, and those tests expect to create theirs).
      211,
    );
    expect((await request(api, 'POST', '/api/v1/datasets', { name: series, data: blobs.points })).status).to.equal(201);
    const rows = blobs.points.map(([x, y], i) => ({ x, y, label: `c${blobs.labels[i]}` }));
    expect((await request(api, 'POST', '/api/v1/datasets', { name: labelled, data: rows })).status).to.equal(201);
  });
  after(async function () {
    this.timeout(60_000);
    const client = stack.env.client;
    for (const id of created) {
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
      // allow-all runs are not in a schedule's runningActions: find them by the schedule that started them.
      for await (const run of client.workflow.list({
        query: `TemporalScheduledById = '${id}' AND ExecutionStatus = 'Running'`,
      }))
        await client.workflow
          .getHandle(run.workflowId)
          .terminate('test over')
          .catch(() => undefined);
    }
    await api?.close();
  });

  it('a preview naming every second of a repeated hour answers at once with one merged warning (Europe/Berlin, 2027-10-31)', async () => {
    const res = await request(api, 'POST', '/api/v1/schedules/preview', {
      spec: {
        calendars: [{ second: '*', minute: '*', hour: '2', dayOfMonth: '25-31', month: '10', dayOfWeek: 'SUN' }],
        timezone: 'Europe/Berlin',
      },
      count: 5,
      from: '2027-10-30T00:00:00Z',
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(200);
    expect(res.body.fireTimes).to.have.length(5);
    // Temporal runs this spec twice a year (the second 02:00:00, then 03:00:01, which it does not name): the five
    // times span three autumns, so three changes, one warning each, each counting its 3,600 named local times
    // (the breaker got 10,800 warnings, one per second, after 20 s).
    const warnings = res.body.warnings as Array<{
      kind: string;
      changeAt: string;
      localInterval: { start: string; end: string };
      named: { count: number; examples: string[] };
      moved?: { count: number; examples: string[] };
    }>;
    expect(warnings.map((w) => [w.kind, w.changeAt])).to.deep.equal([
      ['repeat', '2027-10-31T01:00:00.000Z'],
      ['repeat', '2028-10-29T01:00:00.000Z'],
      ['repeat', '2029-10-28T01:00:00.000Z'],
    ]);
    expect(warnings[0].localInterval).to.deep.equal({ start: '2027-10-31T02:00:00', end: '2027-10-31T03:00:00' });
    for (const w of warnings) {
      expect(w.named.count).to.equal(3600);
      expect(w.named.examples).to.have.length(3);
    }
    expect(warnings[0].moved!.examples).to.deep.equal(['2027-10-31T03:00:01+01:00']);
    expect(JSON.stringify(res.body).length).to.be.below(10_000);
  });

  it('concurrent PATCHes of the action (training epochs) and the description both land, round after round; the memo always matches the action Temporal runs', async function () {
    this.timeout(120_000);
    const made = await create({ action: training(1), spec: yearly, paused: true });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    const id = made.body.scheduleId as string;
    for (let round = 1; round <= 5; round++) {
      const epochs = round + 1;
      const [a, b] = await Promise.all([
        request(api, 'PATCH', `/api/v1/schedules/${id}`, { action: training(epochs) }),
        request(api, 'PATCH', `/api/v1/schedules/${id}`, { description: `round ${round}` }),
      ]);
      expect([a.status, b.status], JSON.stringify([a.body, b.body])).to.deep.equal([200, 200]);
      const view = (await request(api, 'GET', `/api/v1/schedules/${id}`)).body;
      expect(view.action.request.training.epochs, `round ${round}`).to.equal(epochs);
      expect(view.description, `round ${round}`).to.equal(`round ${round}`);
      // What Temporal starts each run with agrees with what Kiln shows.
      const d = await stack.env.client.schedule.getHandle(id).describe();
      if (d.action.type !== 'startWorkflow') throw new Error('not a start-workflow action');
      const input = d.action.args?.[0] as { training: { epochs: number } };
      const memo = d.action.memo as { epochs: number; schedule: { action: typeof view.action; description: string } };
      expect(input.training.epochs, `round ${round}`).to.equal(epochs);
      expect(memo.epochs).to.equal(epochs);
      expect(memo.schedule.action).to.deep.equal(view.action);
      expect(memo.schedule.description).to.equal(`round ${round}`);
    }
  });

  it('pause and unpause with an empty note really pause and unpause (the default note stands in)', async () => {
    const made = await create({ spec: yearly });
    const id = made.body.scheduleId as string;
    const paused = await request(api, 'POST', `/api/v1/schedules/${id}/pause`, { note: '' });
    expect(paused.status, JSON.stringify(paused.body)).to.equal(200);
    expect(paused.body).to.include({ paused: true, note: 'Paused through the Kiln API' });
    expect((await stack.env.client.schedule.getHandle(id).describe()).state.paused).to.equal(true);
    const unpaused = await request(api, 'POST', `/api/v1/schedules/${id}/unpause`, { note: '' });
    expect(unpaused.body).to.include({ paused: false, note: 'Unpaused through the Kiln API' });
    expect((await stack.env.client.schedule.getHandle(id).describe()).state.paused).to.equal(false);
  });

  it('PATCH, pause, unpause, trigger, backfill and DELETE racing a DELETE answer 404 naming the schedule, not 500', async function () {
    this.timeout(60_000);
    const client = stack.env.client;
    const namespace = stack.env.namespace ?? 'default';
    /** A client whose `method` on a schedule handle (or the workflow service's updateSchedule) deletes it first. */
    const racing = (id: string, method: string): ScheduleDeps => {
      const gone = () => client.schedule.getHandle(id).delete();
      const schedule = Object.create(client.schedule, {
        getHandle: {
          value: (scheduleId: string) => {
            const handle = client.schedule.getHandle(scheduleId);
            return Object.create(handle, {
              [method]: {
                value: async (...args: unknown[]) => {
                  await gone();
                  return (handle[method as keyof ScheduleHandle] as (...a: unknown[]) => Promise<unknown>).apply(
                    handle,
                    args,
                  );
                },
              },
            }) as ScheduleHandle;
          },
        },
      }) as ScheduleClient;
      const service = client.workflowService;
      const workflowService = Object.create(service, {
        updateSchedule: {
          value: async (req: Parameters<typeof service.updateSchedule>[0]) => {
            await gone();
            return service.updateSchedule(req);
          },
        },
      }) as typeof service;
      const temporal = Object.create(client, {
        schedule: { value: schedule },
        workflowService: { value: workflowService },
      }) as Client;
      // Trigger and backfill reserve a place under the tenant's cap first: they read the jobs and the tenant row.
      return { temporal, namespace, pool: stack.pool, jobs: new JobService(client) } as unknown as ScheduleDeps;
    };
    const past = { start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' };
    const cases: Array<[string, (deps: ScheduleDeps, id: string) => Promise<unknown>]> = [
      [
        'update',
        (deps, id) =>
          updateSchedule(deps, 'default', id, { description: 'raced' }, { id: 'key:races', role: 'editor' }),
      ],
      ['pause', (deps, id) => setPaused(deps, 'default', id, true, {})],
      ['unpause', (deps, id) => setPaused(deps, 'default', id, false, {})],
      ['trigger', (deps, id) => triggerSchedule(deps, 'default', id, {}, { role: 'admin' })],
      ['backfill', (deps, id) => backfillSchedule(deps, 'default', id, past, { role: 'admin' })],
      ['delete', (deps, id) => deleteSchedule(deps, 'default', id)],
    ];
    for (const [method, call] of cases) {
      const made = await create({ spec: { intervals: [{ every: '1h' }] }, paused: method !== 'pause' });
      const id = made.body.scheduleId as string;
      let caught: unknown;
      await call(racing(id, method), id).catch((err: unknown) => (caught = err));
      expect(caught, `${method}: ${String(caught)}`).to.be.instanceOf(NotFoundError);
      expect((caught as NotFoundError).field, method).to.equal('id');
      expect((caught as NotFoundError).message, method).to.equal(`schedule ${JSON.stringify(id)} does not exist`);
    }
  });

  it('back-to-back triggers of an every-2s allow-all schedule: each 202 names its own run, never a scheduled one, in whole seconds everywhere', async function () {
    this.timeout(120_000);
    const made = await create({ spec: { intervals: [{ every: '2s' }] }, policy: { overlap: 'allow-all' } });
    const id = made.body.scheduleId as string;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => request(api, 'POST', `/api/v1/schedules/${id}/trigger`)),
    );
    for (const r of results) {
      expect([202, 409], JSON.stringify(r.body)).to.include(r.status);
      if (r.status === 409) {
        expect(r.body.error.code).to.equal('trigger_collision');
        expect(r.headers.get('retry-after')).to.equal('1');
      }
    }
    const accepted = results.filter((r) => r.status === 202).map((r) => r.body);
    expect(accepted.length).to.be.at.least(1);
    const jobIds = accepted.map((b) => b.jobId as string);
    expect(new Set(jobIds).size, 'one run per trigger').to.equal(jobIds.length);
    for (const b of accepted) {
      // The spec fires at even seconds (every 2 s from the epoch): a trigger's own run is in an odd one.
      expect(b.scheduledTime).to.match(/\.000Z$/);
      expect((Date.parse(b.scheduledTime) / 1000) % 2, b.jobId).to.equal(1);
      expect(b.jobId.endsWith(`-${b.scheduledTime.replace('.000Z', 'Z')}`)).to.equal(true);
      // Temporal's record of the run, and the job route, say the same second.
      const run = await stack.env.client.workflow.getHandle(b.jobId).describe();
      expect(run.typedSearchAttributes.get(TemporalScheduledStartTime)?.toISOString()).to.equal(b.scheduledTime);
      const job = await request(api, 'GET', `/api/v1/jobs/${b.jobId}`);
      expect(job.body.scheduledTime).to.equal(b.scheduledTime);
    }
    const view = (await request(api, 'GET', `/api/v1/schedules/${id}`)).body;
    for (const r of view.recentRuns as Array<{ jobId: string; scheduledTime: string }>) {
      expect(r.scheduledTime).to.match(/\.000Z$/);
      expect(r.jobId.endsWith(`-${r.scheduledTime.replace('.000Z', 'Z')}`)).to.equal(true);
      const mine = accepted.find((b) => b.jobId === r.jobId);
      if (mine) expect(r.scheduledTime).to.equal(mine.scheduledTime);
    }
  });

  it('warnings in create and preview answers: a spec that never fires, a zone that is a fixed offset', async () => {
    const never = [
      { cron: ['0 0 31 2 *'], timezone: 'UTC' },
      { intervals: [{ every: '1h' }], endAt: '2020-01-01T00:00:00Z' },
    ];
    for (const spec of never) {
      const made = await create({ spec, paused: true });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect(made.body.warnings.map((w: { kind: string }) => w.kind)).to.deep.equal(['never-fires']);
      const preview = await request(api, 'POST', '/api/v1/schedules/preview', { spec });
      expect(preview.body.fireTimes).to.deep.equal([]);
      expect(preview.body.warnings.map((w: { kind: string }) => w.kind)).to.deep.equal(['never-fires']);
    }
    const plain = await create({ spec: yearly, paused: true });
    expect(plain.body).to.not.have.property('warnings');

    const gmt3 = await request(api, 'POST', '/api/v1/schedules/preview', {
      spec: { cron: ['0 3 * * *'], timezone: 'Etc/GMT+3' },
      count: 2,
    });
    expect(gmt3.status).to.equal(200);
    expect(gmt3.body.warnings[0].kind).to.equal('fixed-offset-zone');
    expect(gmt3.body.warnings[0].message).to.include('UTC-03:00');
    expect(gmt3.body.fireTimes[0].local).to.match(/T03:00:00-03:00$/);
    const est = await create({ spec: { cron: ['0 3 * * *'], timezone: 'EST' }, paused: true });
    expect(est.status).to.equal(201);
    expect(est.body.warnings[0]).to.include({ kind: 'fixed-offset-zone' });
  });

  it('specs: day of week 7 is Sunday; a huge step, a repeated unit or a sub-millisecond duration is a 400 naming the field', async () => {
    const sunday = await request(api, 'POST', '/api/v1/schedules/preview', {
      spec: { cron: ['0 3 * * 7'], timezone: 'UTC' },
      count: 3,
    });
    expect(sunday.status, JSON.stringify(sunday.body)).to.equal(200);
    for (const t of sunday.body.fireTimes) expect(new Date(t.utc).getUTCDay()).to.equal(0);
    const bad: Array<[Record<string, unknown>, string, string]> = [
      [{ cron: ['*/99999999999999999999 * * * *'], timezone: 'UTC' }, 'spec.cron[0]', 'too large'],
      [{ intervals: [{ every: '1m1m' }] }, 'spec.intervals[0].every', 'appears twice'],
      [{ intervals: [{ every: '1h' }], jitter: '1.0000000001s' }, 'spec.jitter', 'finer than a millisecond'],
    ];
    for (const [spec, field, says] of bad) {
      const res = await create({ spec });
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.field).to.equal(field);
      expect(res.body.error.message).to.include(says);
      expect(res.body.error.message).to.not.include('strconv');
    }
  });

  it('bodies: null or an array is a 400 naming body on every schedule route; no body at all is the empty object', async () => {
    const made = await create({ spec: yearly, paused: true });
    const id = made.body.scheduleId as string;
    const routes: Array<[string, string]> = [
      ['POST', '/api/v1/schedules'],
      ['POST', '/api/v1/schedules/preview'],
      ['PATCH', `/api/v1/schedules/${id}`],
      ['POST', `/api/v1/schedules/${id}/pause`],
      ['POST', `/api/v1/schedules/${id}/unpause`],
      ['POST', `/api/v1/schedules/${id}/trigger`],
      ['POST', `/api/v1/schedules/${id}/backfill`],
    ];
    for (const [method, path] of routes)
      for (const body of [null, [], 3]) {
        const res = await request(api, method, path, body);
        expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).to.equal(400);
        expect(res.body.error.field, `${method} ${path}`).to.equal('body');
      }
    const none = await request(api, 'POST', `/api/v1/schedules/${id}/pause`);
    expect(none.status).to.equal(200);
  });

  it('a backfill reaching into the future is a 400 naming end', async () => {
    const made = await create({ spec: { intervals: [{ every: '1h' }] }, paused: true });
    const res = await request(api, 'POST', `/api/v1/schedules/${made.body.scheduleId}/backfill`, {
      start: new Date(Date.now() - 3_600_000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.error.field).to.equal('end');
  });

  it('the list gives next fire times as {utc, local} in the zone, none while paused (as the detail); remainingRuns null once lifted', async function () {
    this.timeout(30_000);
    const spec = { cron: ['30 4 * * *'], timezone: 'America/Los_Angeles', startAt: '2027-06-01T00:00:00Z' };
    const running = await create({ spec, remainingRuns: 3 });
    const paused = await create({ spec, paused: true });
    expect(running.body.remainingRuns).to.equal(3);
    expect(paused.body.nextFireTimes).to.deep.equal([]);
    const listed = await eventually(
      () => request(api, 'GET', '/api/v1/schedules?limit=200'),
      (r) =>
        [running, paused].every((m) =>
          r.body.schedules.some((s: { scheduleId: string }) => s.scheduleId === m.body.scheduleId),
        ),
      10_000,
    );
    const entry = (id: string) => listed.body.schedules.find((s: { scheduleId: string }) => s.scheduleId === id);
    const times = entry(running.body.scheduleId).nextFireTimes as Array<{ utc: string; local: string }>;
    expect(times.length).to.be.at.least(1);
    expect(times).to.deep.equal(running.body.nextFireTimes.slice(0, times.length));
    for (const t of times) expect(t.local).to.match(/T04:30:00-07:00$/);
    expect(entry(paused.body.scheduleId)).to.include({ paused: true });
    expect(entry(paused.body.scheduleId).nextFireTimes).to.deep.equal([]);

    const lifted = await request(api, 'PATCH', `/api/v1/schedules/${running.body.scheduleId}`, { remainingRuns: null });
    expect(lifted.status, JSON.stringify(lifted.body)).to.equal(200);
    expect(lifted.body).to.have.property('remainingRuns', null);
  });
});
