import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { repoRoot } from '../../common/paths';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** Attempts of each activity in a workflow's history (the attempt of its started event, the highest wins). */
async function activityAttempts(stack: TestStack, workflowId: string): Promise<Record<string, number>> {
  const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
  const names = new Map<string, string>();
  const attempts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    if (event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      names.set(id, event.activityTaskScheduledEventAttributes!.activityType!.name!);
    if (event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const a = event.activityTaskStartedEventAttributes!;
      const name = names.get(String(a.scheduledEventId))!;
      attempts[name] = Math.max(attempts[name] ?? 0, a.attempt ?? 1);
    }
  }
  return attempts;
}

describe('a full pipeline survives kill -9 of its worker', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const running: ChildProcess[] = [];

  const worker = (env: Record<string, string> = {}): ChildProcess => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'cpu'], {
      env: {
        ...process.env,
        DATABASE_URL: stack.databaseUrl,
        TEMPORAL_ADDRESS: stack.env.address,
        KILN_POOL: 'cpu',
        ...env,
      },
      stdio: 'ignore',
    });
    running.push(child);
    return child;
  };

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    datasetId = await upload(api, 'blobs-crash', blobRows(21));
  });
  afterEach(() => {
    for (const child of running.splice(0)) child.kill('SIGKILL');
  });
  after(async () => api?.close());

  const start = async (model: string, training: Record<string, unknown>) => {
    const res = await request(api, 'POST', '/api/v1/pipelines/full', {
      model: { name: model },
      datasetId,
      holdout: { fraction: 0.25, seed: 2 },
      training: trainingBody('label', true, { training }),
      gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
      promote: { alias: 'champion' },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.pipelineId as string;
  };

  /** One version, one alias move, the alias on it. */
  async function expectOnce(model: string): Promise<void> {
    const versions = (await request(api, 'GET', `/api/v1/models/${model}/versions`)).body.versions;
    expect(versions.map((v: any) => [v.version, v.status])).to.deep.equal([[1, 'READY']]);
    const events = (await request(api, 'GET', `/api/v1/models/${model}/events`)).body.events as any[];
    expect(events.filter((e) => e.action === 'alias_set')).to.have.length(1);
    expect(events.filter((e) => e.action === 'version_registered')).to.have.length(1);
    expect((await request(api, 'GET', `/api/v1/models/${model}`)).body.aliases).to.deep.equal({ champion: 1 });
  }

  it('killed while training: the training child resumes from its checkpoint; one version, one alias move', async () => {
    const first = worker();
    const id = await start('crash-train-mlp', {
      epochs: 60,
      batchSize: 2,
      learningRate: 0.05,
      seed: 1,
      checkpointEvery: 1,
    });
    const training = await eventually(
      () => request(api, 'GET', `/api/v1/pipelines/${id}`),
      (r) => typeof r.body.trainingJobId === 'string',
      90_000,
    );
    const childId = training.body.trainingJobId as string;
    await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${childId}`),
      (r) => (r.body.progress?.checkpointEpoch ?? 0) >= 2,
      90_000,
    );
    first.kill('SIGKILL');
    worker();
    const view = await pipelineEnd(api, id, 240_000);
    expect(view.status, JSON.stringify(view)).to.equal('PROMOTED');
    const child = (await request(api, 'GET', `/api/v1/jobs/${childId}/result`)).body;
    expect(child.attempts.length).to.be.at.least(2);
    expect(child.attempts[1].resumedFromEpoch).to.be.at.least(1);
    expect(child.epochsRun).to.equal(60);
    expect(child).to.not.have.property('registered');
    await expectOnce('crash-train-mlp');
  });

  it('killed while evaluating: the evaluation runs again; one version, one alias move', async () => {
    // The first worker's evaluation dawdles (test hook) so that the kill lands inside it.
    const first = worker({ KILN_TEST_EVALUATION_DELAY_MS: '60000' });
    const id = await start('crash-eval-mlp', { epochs: 5, batchSize: 16, learningRate: 0.05, seed: 1 });
    await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${id}`),
      (r) => r.body.progress?.activity === 'evaluateCandidate' && r.body.progress?.state === 'running',
      120_000,
    );
    first.kill('SIGKILL');
    worker();
    const view = await pipelineEnd(api, id, 240_000);
    expect(view.status, JSON.stringify(view)).to.equal('PROMOTED');
    expect((await activityAttempts(stack, id)).evaluateCandidate).to.be.at.least(2);
    const evaluations = await stack.pool.query(
      'SELECT count(*)::int AS n FROM model_evaluations WHERE pipeline_id = $1',
      [id],
    );
    expect(evaluations.rows[0].n).to.equal(1);
    await expectOnce('crash-eval-mlp');
  });
});
