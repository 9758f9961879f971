import { expect } from 'chai';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { makeBlobs } from '../support/blobs';
import { eventually, request, TestApi } from '../support/test-api';
import {
  isReady,
  killLeftovers,
  Launch,
  launch,
  platformEnv,
  PlatformProcess,
  platformProcesses,
  watchUntilGone,
  bootstrapKey,
} from '../launcher/launch';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A schedule lives in Temporal, which `npm start` keeps in its data directory (KILN_DATA_DIR/temporal.sqlite): stopping
 * the platform and starting it again on the same directory keeps the schedule, its paused state and its run history,
 * and the runs stay readable as jobs. Unpausing after a pause longer than the catch-up window starts no burst. One
 * restart, on its own data directory and ports.
 */
describe('a schedule and its run history survive stopping and restarting npm start', function () {
  this.timeout(400_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let run: Launch | undefined;
  let processes: PlatformProcess[] = [];
  let api: TestApi;

  const start = async () => {
    run = launch(env, { via: 'npm' });
    await run.waitForLine(isReady, 180_000);
    processes = platformProcesses(run.child.pid!);
    api.key = bootstrapKey(dataDir);
  };
  /** SIGTERM to npm, as a process manager stops it; every process of the platform must be gone. */
  const stop = async () => {
    process.kill(run!.child.pid!, 'SIGTERM');
    const goneAt = await watchUntilGone(processes, 60_000);
    expect(
      processes.filter((p) => goneAt.get(p) === undefined).map((p) => p.role),
      'still running',
    ).to.deep.equal([]);
    await run!.exited;
  };

  before(async () => {
    ({ dataDir, env } = await platformEnv());
    api = { baseUrl: `http://127.0.0.1:${env.PORT}`, key: '', close: async () => undefined };
  });
  after(() => {
    killLeftovers(processes);
    run?.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('same spec, still paused, the runs listed with their jobs readable; unpausing starts no burst', async () => {
    await start();
    const series = `restart-${randomUUID().slice(0, 8)}`;
    const data = makeBlobs(
      10,
      [
        [0, 0],
        [6, 6],
      ],
      0.4,
      7,
    ).points;
    expect((await request(api, 'POST', '/api/v1/datasets', { name: series, data })).status).to.equal(201);
    const id = `sched-${series}`;
    const created = await request(api, 'POST', '/api/v1/schedules', {
      id,
      action: {
        kind: 'clustering',
        request: { algorithm: 'kmeans', params: { k: 2, seed: 1 }, dataset: { name: series } },
      },
      spec: { intervals: [{ every: '2s' }] },
      policy: { overlap: 'skip', catchupWindow: '10s' },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await eventually(
      () => request(api, 'GET', `/api/v1/jobs?scheduleId=${id}`),
      (r) => r.body.jobs?.some((j: { status: string }) => j.status === 'COMPLETED'),
      60_000,
    );
    const paused = await request(api, 'POST', `/api/v1/schedules/${id}/pause`, { note: 'restarting Kiln' });
    expect(paused.body.paused).to.equal(true);
    const pausedAt = Date.now();
    const before = paused.body;
    const jobIds = (before.recentRuns as Array<{ jobId: string }>).map((r) => r.jobId);
    expect(jobIds).to.have.length.greaterThan(0);

    await stop();
    await start();

    const again = await request(api, 'GET', `/api/v1/schedules/${id}`);
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
    expect(again.body).to.deep.include({
      spec: before.spec,
      action: before.action,
      policy: { overlap: 'skip', catchupWindow: '10s', pauseOnFailure: false },
      paused: true,
      note: 'restarting Kiln',
      counts: before.counts,
    });
    expect((again.body.recentRuns as Array<{ jobId: string }>).map((r) => r.jobId)).to.deep.equal(jobIds);
    for (const jobId of jobIds) {
      const job = await request(api, 'GET', `/api/v1/jobs/${jobId}`);
      expect(job.status, jobId).to.equal(200);
      expect(job.body).to.include({ jobId, scheduleId: id });
    }
    const listed = await eventually(
      () => request(api, 'GET', `/api/v1/jobs?scheduleId=${id}&limit=100`),
      (r) => jobIds.every((j) => r.body.jobs?.some((x: { jobId: string }) => x.jobId === j)),
      20_000,
    );
    expect(listed.body.jobs.every((j: { scheduleId: string }) => j.scheduleId === id)).to.equal(true);

    // Paused (and partly down) for longer than the 10 s catch-up window: at least five fire times passed.
    await sleep(Math.max(0, pausedAt + 11_000 - Date.now()));
    const missed = Math.floor((Date.now() - pausedAt) / 2000);
    const unpaused = await request(api, 'POST', `/api/v1/schedules/${id}/unpause`);
    expect(unpaused.body.paused).to.equal(false);
    const atUnpause = unpaused.body.counts.runs as number;
    await sleep(5000);
    const later = (await request(api, 'GET', `/api/v1/schedules/${id}`)).body;
    // At most the regular fire times of those 5 s (every 2 s: 3), none of the missed ones.
    expect(missed).to.be.at.least(5);
    expect(later.counts.runs - atUnpause, `runs since unpausing (${missed} fire times missed)`).to.be.at.most(3);

    expect((await request(api, 'DELETE', `/api/v1/schedules/${id}`)).status).to.equal(204);
    expect((await request(api, 'GET', `/api/v1/schedules/${id}`)).status).to.equal(404);
    await stop();
  });
});
