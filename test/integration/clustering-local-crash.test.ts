import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { repoRoot } from '../../common/paths';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

const { EventType } = temporal.api.enums.v1;

describe('a small clustering job (local activity) survives kill -9 of its worker mid-compute', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  const running: ChildProcess[] = [];

  const worker = (env: Record<string, string> = {}): ChildProcess => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'cpu'], {
      env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.env.address, ...env },
      stdio: 'ignore',
    });
    running.push(child);
    return child;
  };

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  afterEach(() => {
    for (const child of running.splice(0)) child.kill('SIGKILL');
  });
  after(async () => api?.close());

  it('the workflow task times out, the next worker computes again, the job completes without an activity task', async () => {
    const blobs = makeBlobs(
      60,
      [
        [0, 0],
        [9, 9],
      ],
      0.5,
      13,
    );
    // The first worker's compute dawdles (test hook) so that the kill lands inside the local activity.
    const first = worker({ KILN_TEST_EVALUATION_DELAY_MS: '60000' });
    const started = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      params: { k: 2, seed: 4 },
      data: blobs.points,
    });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    // The worker has taken the workflow task (no longer `queued`) and holds it while the local activity runs.
    await eventually(
      () => request(api, 'GET', started.body.links.self),
      (r) => r.body.progress?.stage === 'orchestrating',
      120_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    first.kill('SIGKILL');
    worker();

    const result = await request(api, 'GET', `${started.body.links.result}?wait=60`);
    expect(result.status, JSON.stringify(result.body)).to.equal(200);
    expect(result.body.labels).to.have.length(120);
    const history = await stack.env.client.workflow.getHandle(started.body.jobId).fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    expect(types, 'the killed worker never completed its workflow task').to.include(
      EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    );
    expect(types).to.not.include(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    const markers = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED);
    expect(markers.map((e) => e.markerRecordedEventAttributes?.markerName)).to.deep.equal([
      'core_patch',
      'core_local_activity',
    ]);
  });
});
