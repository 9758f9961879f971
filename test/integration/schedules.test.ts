import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { offsetMs } from '../../common/schedule/time-zone';
import { makeBlobs } from '../support/blobs';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { createTestWorker } from '../support/with-worker';

/**
 * Schedules against a real Temporal dev server, Postgres and (where runs must complete) a real Kiln worker, on
 * seconds-scale intervals. Runs that must outlive their interval are simply not picked up: with no worker polling, a
 * run stays RUNNING, which is all the overlap policies see.
 */

/** `latest` for a scheduled run: as of the end of its scheduled second. */
const endOfSecond = (iso: string) => new Date(Date.parse(iso) + 999).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rows(seed: number): number[][] {
  return makeBlobs(
    10,
    [
      [0, 0],
      [6, 6],
    ],
    0.4,
    seed,
  ).points;
}

interface Run {
  jobId: string;
  status: string;
  scheduleId?: string;
  scheduledTime?: string;
}

describe('scheduled recurring jobs (Temporal Schedules)', function () {
  let stack: TestStack;
  let api: TestApi;
  const series = `sched-series-${randomUUID().slice(0, 8)}`;
  const created: string[] = [];

  const clustering = (extra: Record<string, unknown> = {}) => ({
    kind: 'clustering',
    request: { algorithm: 'kmeans', params: { k: 2, seed: 1 }, dataset: { name: series }, ...extra },
  });
  /** A full pipeline on the series (20 rows) with a k-means candidate: valid as it stands. */
  const fullPipeline = (extra: Record<string, unknown> = {}) => ({
    kind: 'pipeline-full',
    request: {
      model: { name: `sched-blobs-${series}` },
      dataset: { name: series },
      holdout: { fraction: 0.5, seed: 1 },
      clustering: { algorithm: 'kmeans', params: { k: 2, seed: 1 } },
      gate: { thresholds: [{ metric: 'silhouette', threshold: 0.3 }], noChampion: 'absolute-only' },
      promote: { alias: 'champion' },
      ...extra,
    },
  });
  const create = async (body: Record<string, unknown>): Promise<JsonResponse> => {
    const res = await request(api, 'POST', '/api/v1/schedules', body);
    if (res.status === 201) created.push(res.body.scheduleId);
    return res;
  };
  const remove = async (id: string): Promise<number> => {
    const res = await request(api, 'DELETE', `/api/v1/schedules/${id}`);
    if (res.status === 204) created.splice(created.indexOf(id), 1);
    return res.status;
  };
  const describe_ = (id: string) => request(api, 'GET', `/api/v1/schedules/${id}`);
  const runsOf = async (id: string): Promise<Run[]> =>
    (await request(api, 'GET', `/api/v1/jobs?scheduleId=${id}&limit=100`)).body.jobs as Run[];
  /** Ends every run a schedule started (so no later worker picks them up). */
  const terminateRuns = async (id: string) => {
    const d = await stack.env.client.schedule.getHandle(id).describe();
    for (const a of d.info.runningActions)
      await stack.env.client.workflow
        .getHandle(a.workflow.workflowId)
        .terminate('test over')
        .catch(() => undefined);
  };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: series, data: rows(1) });
    expect(upload.status).to.equal(201);
  });
  after(async function () {
    this.timeout(60_000);
    await Promise.all(
      created.map(async (id) => {
        await terminateRuns(id).catch(() => undefined);
        await stack.env.client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined);
      }),
    );
    await api?.close();
  });

  describe('while no worker runs the jobs', () => {
    it('skip lets one run outlive its interval and counts the rest; buffer-one queues exactly one; pausing for several intervals then unpausing starts no burst', async function () {
      this.timeout(60_000);
      const spec = { intervals: [{ every: '2s' }] };
      const [skip, bufferOne, paused] = await Promise.all([
        create({ action: clustering(), spec, policy: { overlap: 'skip' } }),
        create({ action: clustering(), spec, policy: { overlap: 'buffer-one' } }),
        create({ action: clustering(), spec, policy: { overlap: 'allow-all' } }),
      ]);
      for (const res of [skip, bufferOne, paused]) expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(skip.body.policy).to.deep.equal({ overlap: 'skip', catchupWindow: '10m', pauseOnFailure: false });

      // The allow-all schedule runs at every fire time until paused; then nothing for three intervals.
      await eventually(
        () => describe_(paused.body.scheduleId),
        (r) => r.body.counts.runs >= 1,
        10_000,
      );
      const pausedRes = await request(api, 'POST', `/api/v1/schedules/${paused.body.scheduleId}/pause`, {
        note: 'maintenance window',
      });
      expect(pausedRes.body).to.include({ paused: true, note: 'maintenance window' });
      const atPause = pausedRes.body.counts.runs as number;

      await sleep(7000); // three and a half intervals
      const s = (await describe_(skip.body.scheduleId)).body;
      expect(s.counts.runs).to.equal(1);
      expect(s.running).to.have.length(1);
      expect(s.counts.skippedByOverlap).to.be.at.least(2);
      const b = (await describe_(bufferOne.body.scheduleId)).body;
      expect(b.counts.runs).to.equal(1);
      // One fire time waits in the buffer; every other one after it is dropped.
      expect(b.counts.skippedByOverlap).to.be.at.least(1);

      const p = (await describe_(paused.body.scheduleId)).body;
      expect(p.counts.runs, 'no run while paused').to.equal(atPause);
      const unpaused = await request(api, 'POST', `/api/v1/schedules/${paused.body.scheduleId}/unpause`);
      expect(unpaused.body).to.include({ paused: false });
      await sleep(1500);
      const after = (await describe_(paused.body.scheduleId)).body;
      // The fire times missed while paused are not made up: at most the next regular one has run since.
      expect(after.counts.runs - atPause).to.be.at.most(1);
      expect(after.counts.missedCatchupWindow).to.equal(0);

      // Ending the buffer-one schedule's run starts the one it buffered, and only that one.
      const bufferId = bufferOne.body.scheduleId as string;
      const first = b.running[0] as string;
      await stack.env.client.workflow.getHandle(first).terminate('let the buffered run start');
      const next = await eventually(
        () => describe_(bufferId),
        (r) => r.body.counts.runs === 2,
        5000,
      );
      expect(next.body.running).to.have.length(1);
      expect(next.body.running[0]).to.not.equal(first);
      expect(next.body.counts.runs).to.equal(2);
      await Promise.all([skip, bufferOne, paused].map((r) => terminateRuns(r.body.scheduleId)));
      for (const r of [skip, bufferOne, paused]) await remove(r.body.scheduleId);
    });
  });

  describe('with a worker', () => {
    let worker: Worker;
    let running: Promise<void>;
    before(async function () {
      this.timeout(60_000);
      worker = await createTestWorker(stack);
      running = worker.run();
    });
    after(async function () {
      this.timeout(60_000);
      worker.shutdown();
      await running;
    });

    it('an every-2-seconds clustering schedule produces completed jobs carrying scheduleId and scheduled time, and stops after remainingRuns', async function () {
      this.timeout(60_000);
      const res = await create({
        description: 'cluster the newest readings',
        action: clustering(),
        spec: { intervals: [{ every: '2s' }] },
        remainingRuns: 2,
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const id = res.body.scheduleId as string;
      expect(res.body).to.include({ paused: false, remainingRuns: 2, description: 'cluster the newest readings' });
      expect(res.body.nextFireTimes).to.have.length.greaterThan(0);
      expect(res.headers.get('location')).to.equal(`/api/v1/schedules/${id}`);

      const done = await eventually(
        () => runsOf(id),
        (runs) => runs.length === 2 && runs.every((r) => r.status === 'COMPLETED'),
        20_000,
      );
      for (const run of done) {
        expect(run.scheduleId).to.equal(id);
        expect(run.jobId.startsWith('clustering-')).to.equal(true);
        expect(run.jobId.endsWith(`-${run.scheduledTime!.replace('.000Z', 'Z')}`)).to.equal(true);
        const job = await request(api, 'GET', `/api/v1/jobs/${run.jobId}`);
        expect(job.body).to.include({ status: 'COMPLETED', scheduleId: id, scheduledTime: run.scheduledTime });
        expect(job.body.result.dataset).to.include({ name: series, version: 1 });
        expect(job.body.result.dataset.asOf).to.equal(endOfSecond(run.scheduledTime!));
      }
      await sleep(4500); // two more intervals: the limit holds
      const view = (await describe_(id)).body;
      expect(view.counts.runs).to.equal(2);
      expect(view.remainingRuns).to.equal(0);
      expect((await runsOf(id)).length).to.equal(2);
      expect(view.recentRuns.map((r: { jobId: string }) => r.jobId).sort()).to.deep.equal(
        done.map((r) => r.jobId).sort(),
      );
      expect(view.recentRuns[0].status).to.equal('COMPLETED');
      expect(view.recentRuns[0].links.self).to.equal(`/api/v1/jobs/${view.recentRuns[0].jobId}`);
    });

    it('trigger runs at once; PATCH changes the next fire times and keeps the history; DELETE removes it from Temporal', async function () {
      this.timeout(60_000);
      const res = await create({
        action: clustering(),
        spec: { cron: ['0 3 * * *'], timezone: 'UTC' },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const id = res.body.scheduleId as string;
      for (const t of res.body.nextFireTimes) expect(t.utc).to.match(/T03:00:00\.000Z$/);

      // New data just before the trigger: the run takes it (a trigger's scheduled time is its whole second).
      const v2 = await request(api, 'POST', '/api/v1/datasets', { name: series, data: rows(4) });
      expect(v2.body.series.version).to.equal(2);
      const before = Date.now();
      const triggered = await request(api, 'POST', `/api/v1/schedules/${id}/trigger`);
      expect(triggered.status).to.equal(202);
      expect(triggered.body.jobId).to.match(/^clustering-/);
      const result = await request(api, 'GET', `/api/v1/jobs/${triggered.body.jobId}/result?wait=20`);
      expect(result.status).to.equal(200);
      expect(Date.now() - before).to.be.below(15_000);
      expect(result.body.datasetId).to.equal(v2.body.id);
      // The result names the series version it read, as GET /jobs/:id's result does.
      expect(result.body.dataset).to.include({ name: series, datasetId: v2.body.id });

      const patched = await request(api, 'PATCH', `/api/v1/schedules/${id}`, {
        spec: { cron: ['30 4 * * *'], timezone: 'America/Los_Angeles' },
        description: 'later, in California',
      });
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      expect(patched.body.description).to.equal('later, in California');
      for (const t of patched.body.nextFireTimes) expect(t.local).to.match(/T04:30:00-0[78]:00$/);
      expect(patched.body.counts.runs).to.equal(1);
      expect(patched.body.recentRuns.map((r: { jobId: string }) => r.jobId)).to.deep.equal([triggered.body.jobId]);
      expect(patched.body.action).to.deep.equal(res.body.action);

      // Los Angeles and UTC at the same wall time: apart by exactly LA's offset at each instant.
      const utc = await request(api, 'POST', '/api/v1/schedules/preview', {
        spec: { cron: ['30 4 * * *'], timezone: 'UTC' },
      });
      expect(patched.body.nextFireTimes).to.have.length(10);
      (patched.body.nextFireTimes as Array<{ utc: string }>).forEach((t, i) => {
        const la = Date.parse(t.utc);
        const u = Date.parse(utc.body.fireTimes[i].utc);
        const diff = (((la - u) % 86_400_000) + 86_400_000) % 86_400_000;
        expect(diff).to.equal((-offsetMs('America/Los_Angeles', la) + 86_400_000) % 86_400_000);
      });

      expect(await remove(id)).to.equal(204);
      expect((await describe_(id)).status).to.equal(404);
      let caught: unknown;
      try {
        await stack.env.client.schedule.getHandle(id).describe();
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ScheduleNotFoundError);
    });

    it('backfill over a past window of three intervals: three runs at the three logical times, each on the series version of its time; a time before the series fails only that run', async function () {
      this.timeout(60_000);
      const name = `${series}-bf`;
      const v1 = await request(api, 'POST', '/api/v1/datasets', { name, data: rows(2) });
      await sleep(3000);
      const v2 = await request(api, 'POST', '/api/v1/datasets', { name, data: rows(3) });
      const t1 = Date.parse(v1.body.series.createdAt);
      const t2 = Date.parse(v2.body.series.createdAt);
      const s1 = Math.ceil(t1 / 2000) * 2000;
      const s3 = s1 + 4000;
      await sleep(Math.max(0, s3 + 500 - Date.now()));

      const res = await create({
        action: clustering({ dataset: { name } }),
        spec: { intervals: [{ every: '2s' }] },
        paused: true,
      });
      const id = res.body.scheduleId as string;
      const backfill = await request(api, 'POST', `/api/v1/schedules/${id}/backfill`, {
        start: new Date(s1).toISOString(),
        end: new Date(s3).toISOString(),
      });
      expect(backfill.status, JSON.stringify(backfill.body)).to.equal(202);
      expect(backfill.body).to.include({ runs: 3, overlap: 'buffer-all' });
      const logical = [s1, s1 + 2000, s3].map((t) => new Date(t).toISOString());
      expect(backfill.body.scheduledTimes).to.deep.equal(logical);

      const runs = await eventually(
        () => runsOf(id),
        (r) => r.length === 3 && r.every((x) => x.status === 'COMPLETED'),
        30_000,
      );
      expect(runs.map((r) => r.scheduledTime).sort()).to.deep.equal(logical);
      const versions = new Set<number>();
      for (const run of runs) {
        const job = (await request(api, 'GET', `/api/v1/jobs/${run.jobId}`)).body;
        const expected = Date.parse(endOfSecond(run.scheduledTime!)) >= t2 ? v2.body : v1.body;
        expect(job.result.dataset).to.include({ name, datasetId: expected.id, sha256: expected.sha256 });
        expect(job.result.dataset.asOf).to.equal(endOfSecond(run.scheduledTime!));
        versions.add(job.result.dataset.version);
      }
      expect([...versions].sort()).to.deep.equal([1, 2]);

      // One fire time before the first upload: that run fails, saying why; the schedule carries on.
      const early = await request(api, 'POST', `/api/v1/schedules/${id}/backfill`, {
        start: new Date(s1 - 4000).toISOString(),
        end: new Date(s1 - 3000).toISOString(),
      });
      expect(early.body.runs).to.equal(1);
      const failed = await eventually(
        () => runsOf(id),
        (r) => r.some((x) => x.status === 'FAILED'),
        20_000,
      );
      const job = (await request(api, 'GET', `/api/v1/jobs/${failed.find((x) => x.status === 'FAILED')!.jobId}`)).body;
      expect(job.error.type).to.equal('DatasetNotFound');
      expect(job.error.message).to.include(name);
      const view = (await describe_(id)).body;
      expect(view.paused).to.equal(true);
      expect(view.counts.runs).to.equal(4);
    });
  });

  describe('previews and checks', () => {
    it('preview of `30 2 * * *` in Europe/Berlin around spring-forward reports the gap, as Temporal skips it', async () => {
      const spec = { cron: ['30 2 * * *'], timezone: 'Europe/Berlin', startAt: '2027-03-26T00:00:00Z' };
      const preview = await request(api, 'POST', '/api/v1/schedules/preview', {
        spec,
        from: '2027-03-26T00:00:00Z',
        count: 10,
      });
      expect(preview.status, JSON.stringify(preview.body)).to.equal(200);
      expect(preview.body.fireTimes.slice(0, 3)).to.deep.equal([
        { utc: '2027-03-26T01:30:00.000Z', local: '2027-03-26T02:30:00+01:00' },
        { utc: '2027-03-27T01:30:00.000Z', local: '2027-03-27T02:30:00+01:00' },
        { utc: '2027-03-29T00:30:00.000Z', local: '2027-03-29T02:30:00+02:00' },
      ]);
      expect(preview.body.warnings).to.have.length(1);
      expect(preview.body.warnings[0]).to.include({ kind: 'gap', localTime: '2027-03-28T02:30:00' });

      // Temporal itself, told the same, fires at the same times (not paused: a paused schedule lists none; its startAt
      // in 2027 keeps it from running now).
      const res = await create({ action: clustering(), spec });
      expect(res.body.nextFireTimes).to.deep.equal(preview.body.fireTimes);

      const autumn = await request(api, 'POST', '/api/v1/schedules/preview', {
        spec: { ...spec, startAt: undefined },
        from: '2027-10-30T12:00:00Z',
        count: 3,
      });
      // Temporal runs a repeated local time once (Go's time.Date: east of UTC, the second occurrence).
      expect(autumn.body.fireTimes.map((t: { local: string }) => t.local)).to.deep.equal([
        '2027-10-31T02:30:00+01:00',
        '2027-11-01T02:30:00+01:00',
        '2027-11-02T02:30:00+01:00',
      ]);
      expect(autumn.body.warnings[0]).to.include({ kind: 'repeat', localTime: '2027-10-31T02:30:00' });
    });

    it('lists schedules by kind, and answers bad input with 400 naming the field, an unknown id with 404, a taken id with 409', async function () {
      this.timeout(30_000);
      const id = `sched-${randomUUID().slice(0, 8)}`;
      const body = { id, action: clustering(), spec: { cron: ['0 3 * * *'], timezone: 'UTC' }, paused: true };
      expect((await create(body)).status).to.equal(201);
      const duplicate = await create(body);
      expect(duplicate.status).to.equal(409);
      expect(duplicate.body.error.field).to.equal('id');

      const listed = await eventually(
        () => request(api, 'GET', '/api/v1/schedules?kind=clustering&limit=200'),
        (r) => r.body.schedules.some((s: { scheduleId: string }) => s.scheduleId === id),
        10_000,
      );
      expect(listed.body.schedules.find((s: { scheduleId: string }) => s.scheduleId === id)).to.include({
        kind: 'clustering',
        paused: true,
      });
      const ids = async (query: string) =>
        (await request(api, 'GET', `/api/v1/schedules?${query}`)).body.schedules.map(
          (s: { scheduleId: string }) => s.scheduleId,
        ) as string[];
      expect(await ids('kind=training')).to.not.include(id);
      expect(await ids('paused=true&limit=200')).to.include(id);
      expect(await ids('paused=false&limit=200')).to.not.include(id);
      const page = await request(api, 'GET', '/api/v1/schedules?limit=1');
      expect(page.body.schedules).to.have.length(1);
      expect(page.body.nextPageToken).to.be.a('string');
      const second = await request(api, 'GET', `/api/v1/schedules?limit=1&pageToken=${page.body.nextPageToken}`);
      expect(second.body.schedules[0].scheduleId).to.not.equal(page.body.schedules[0].scheduleId);

      const bad: Array<[string, Record<string, unknown>, string]> = [
        ['bad cron', { spec: { cron: ['61 * * * *'], timezone: 'UTC' } }, 'spec.cron[0]'],
        ['unknown zone', { spec: { cron: ['0 3 * * *'], timezone: 'Europe/Atlantis' } }, 'spec.timezone'],
        ['no zone with cron', { spec: { cron: ['0 3 * * *'] } }, 'spec.timezone'],
        ['negative interval', { spec: { intervals: [{ every: '-1h' }] } }, 'spec.intervals[0].every'],
        ['catch-up window too short', { policy: { catchupWindow: '5s' } }, 'policy.catchupWindow'],
        ['catch-up window too long', { policy: { catchupWindow: '400d' } }, 'policy.catchupWindow'],
        ['unknown overlap', { policy: { overlap: 'sometimes' } }, 'policy.overlap'],
        ['unknown action kind', { action: { kind: 'retraining', request: {} } }, 'action.kind'],
        ['invalid inner request', { action: clustering({ params: { k: 0 } }) }, 'action.request.params.k'],
        ['inner request unknown field', { action: clustering({ colour: 'red' }) }, 'action.request.colour'],
        ['inline data', { action: clustering({ dataset: undefined, data: rows(1) }) }, 'action.request.data'],
        // A full pipeline's action is checked as POST /api/v1/pipelines/full checks its body.
        [
          'pipeline holdout of too few rows',
          { action: fullPipeline({ holdout: { fraction: 0.3, seed: 1 } }) },
          'action.request.holdout.fraction',
        ],
        [
          'pipeline threshold out of range',
          {
            action: fullPipeline({
              gate: { thresholds: [{ metric: 'silhouette', threshold: 2 }], noChampion: 'absolute-only' },
            }),
          },
          'action.request.gate.thresholds[0].threshold',
        ],
        [
          'pipeline candidate that cannot label the holdout',
          { action: fullPipeline({ clustering: { algorithm: 'dbscan', params: { eps: 1, minPts: 3 } } }) },
          'action.request.clustering.algorithm',
        ],
        [
          'pipeline candidate naming its own series',
          {
            action: fullPipeline({
              clustering: { algorithm: 'kmeans', params: { k: 2 }, dataset: { name: series } },
            }),
          },
          'action.request.clustering.dataset',
        ],
        ['batch predict without a model', { action: { kind: 'batch-predict', request: {} } }, 'action.model'],
        ['bad id', { id: 'no spaces please' }, 'id'],
      ];
      for (const [what, patch, field] of bad) {
        const res = await request(api, 'POST', '/api/v1/schedules', {
          action: clustering(),
          spec: { intervals: [{ every: '1h' }] },
          ...patch,
        });
        expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.error.field, what).to.equal(field);
      }
      const pipeline = await create({ action: fullPipeline(), spec: { intervals: [{ every: '1h' }] }, paused: true });
      expect(pipeline.status, JSON.stringify(pipeline.body)).to.equal(201);
      const unknown = await request(api, 'POST', '/api/v1/schedules', { ...body, id: undefined, colour: 'red' });
      expect(unknown.status).to.equal(400);
      expect(unknown.body.error).to.include({ code: 'unknown_field' });
      expect(unknown.body.error.message).to.include('colour');
      const missing = await request(api, 'POST', '/api/v1/schedules', {
        action: clustering({ dataset: { name: 'no-such-series' } }),
        spec: { intervals: [{ every: '1h' }] },
      });
      expect(missing.status).to.equal(404);
      expect(missing.body.error.field).to.equal('action.request.dataset.name');
      const badPatch = await request(api, 'PATCH', `/api/v1/schedules/${id}`, { spec: { cron: ['* * *'] } });
      expect(badPatch.status).to.equal(400);
      expect(badPatch.body.error.field).to.equal('spec.cron[0]');
      for (const [method, path] of [
        ['GET', '/api/v1/schedules/nope'],
        ['PATCH', '/api/v1/schedules/nope'],
        ['DELETE', '/api/v1/schedules/nope'],
        ['POST', '/api/v1/schedules/nope/pause'],
        ['POST', '/api/v1/schedules/nope/trigger'],
      ]) {
        const res = await request(api, method, path, method === 'PATCH' ? { paused: true } : undefined);
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(res.body.error.field).to.equal('id');
      }
    });
  });
});
