import { expect } from 'chai';
import { decisionUpdate } from '../../common/messages/pipeline';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { bearer } from '../support/auth';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectError(res: JsonResponse, status: number, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  if (code !== undefined) expect(res.body.error.code, JSON.stringify(res.body)).to.equal(code);
}

/** Decisions on pipelines waiting for approval when things go wrong: no worker, an alias moved, a lost answer. */
describe('pipeline decisions: no worker, an alias moved, a repeated decision, a canceled run', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let clean: string;

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    clean = await upload(api, 'decide-blobs', blobRows(41));
  });
  after(async () => api?.close());

  const full = (model: string, extra: Record<string, unknown> = {}) => ({
    model: { name: model },
    datasetId: clean,
    holdout: { fraction: 0.25, seed: 1 },
    training: trainingBody('label', true),
    gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
    promote: { alias: 'champion' },
    ...extra,
  });
  const approval = { approval: { required: true, timeout: '1h', onTimeout: 'reject' } };
  const start = async (body: unknown) => {
    const res = await request(api, 'POST', '/api/v1/pipelines/full', body);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.pipelineId as string;
  };
  const awaiting = (id: string) =>
    eventually(
      () => request(api, 'GET', `/api/v1/pipelines/${id}`),
      (r) => r.body.status === 'AWAITING_APPROVAL',
      120_000,
    );
  const decide = (id: string, decision: string, comment?: string) =>
    request(
      api,
      'POST',
      `/api/v1/pipelines/${id}/decision`,
      { decision, ...(comment ? { comment } : {}) },
      bearer(api.reviewerKey!),
    );

  it('no worker to take the decision: a 503 within seconds saying so; the same decision later gets the outcome', async () => {
    const id = await withWorker(stack, async () => {
      const started = await start(full('decide-down', approval));
      await awaiting(started);
      return started;
    });
    // The worker is gone: the Update waits for a workflow task nobody takes.
    const t0 = Date.now();
    const down = await decide(id, 'approve');
    const waited = Date.now() - t0;
    expectError(down, 503, 'dependency_unavailable');
    expect(down.body.error.dependency).to.equal('worker');
    expect(down.body.error.message).to.match(/no worker accepted the decision within 10 s .* It is not recorded/);
    expect(waited).to.be.within(9_000, 20_000);
    expect((await request(api, 'GET', `/api/v1/pipelines/${id}`)).body.status).to.equal('AWAITING_APPROVAL');

    await withWorker(stack, async () => {
      // Whether the unconfirmed Update reached the returning worker or not, the same decision gets the outcome.
      const again = await decide(id, 'approve', 'second try');
      expect(again.status, JSON.stringify(again.body)).to.equal(200);
      expect(again.body).to.deep.include({ status: 'PROMOTED', promotion: { alias: 'champion', version: 1 } });
      expect((await pipelineEnd(api, id)).status).to.equal('PROMOTED');
    });
  });

  it('approve after the alias moved: the answer carries the real reason; the version stays READY, unpromoted', async () => {
    await withWorker(stack, async () => {
      // Version 1, under another alias; the pipeline below sees no `champion`, which then moves to version 1.
      const first = await pipelineEnd(api, await start(full('decide-moved', { promote: { alias: 'other' } })));
      expect(first.status).to.equal('PROMOTED');
      const id = await start(full('decide-moved', approval));
      await awaiting(id);
      const moved = await request(api, 'PUT', '/api/v1/models/decide-moved/aliases/champion', { version: 1 });
      expect(moved.status, JSON.stringify(moved.body)).to.equal(200);

      const answer = await decide(id, 'approve');
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      expect(answer.body.status).to.equal('FAILED');
      expect(answer.body.error).to.deep.equal({
        message:
          'alias champion moved since the candidate was evaluated (it pointed at nothing, now version 1); nothing was promoted',
        type: 'AliasMoved',
      });
      expect(answer.body.registered).to.include({ modelName: 'decide-moved', version: 2, status: 'READY' });
      expect(answer.body).to.not.have.property('promotion');

      const view = await pipelineEnd(api, id);
      expect(view.status).to.equal('FAILED');
      expect(view.error).to.deep.equal(answer.body.error);
      // The same decision again (its answer lost): the recorded outcome; another decision: 409.
      const again = await decide(id, 'approve');
      expect(again.status, JSON.stringify(again.body)).to.equal(200);
      expect(again.body).to.deep.include({
        status: 'FAILED',
        decision: answer.body.decision,
        registered: answer.body.registered,
        error: answer.body.error,
      });
      expectError(await decide(id, 'reject'), 409, 'not_awaiting_approval');
    });
    const versions = (await request(api, 'GET', '/api/v1/models/decide-moved/versions')).body.versions;
    expect(versions.map((v: { version: number; status: string }) => [v.version, v.status])).to.deep.equal([
      [1, 'READY'],
      [2, 'READY'],
    ]);
    expect((await request(api, 'GET', '/api/v1/models/decide-moved')).body.aliases).to.deep.equal({
      other: 1,
      champion: 1,
    });
  });

  it('a decision delivered but its answer lost: the same decision again answers the outcome (200), another one 409', async () => {
    await withWorker(stack, async () => {
      const id = await start(full('decide-repeat', approval));
      await awaiting(id);
      // The API sent the Update and died before answering: the run decided without the client hearing of it.
      const handle = stack.env.client.workflow.getHandle(id);
      const delivered = await handle.executeUpdate(decisionUpdate, {
        args: [{ decision: 'approve', comment: 'first try' }],
        updateId: 'from-a-dead-api',
      });
      expect(delivered.status).to.equal('PROMOTED');
      await pipelineEnd(api, id);

      const retried = await decide(id, 'approve', 'first try');
      expect(retried.status, JSON.stringify(retried.body)).to.equal(200);
      expect(retried.body).to.deep.include({ pipelineId: id, ...delivered });
      const other = await decide(id, 'reject');
      expectError(other, 409, 'not_awaiting_approval');
      expect(other.body.error.message).to.match(
        /it ended COMPLETED \(PROMOTED\); it was decided approve \(by reviewer/,
      );

      // Two identical decisions at once on a waiting run: one Update, the same outcome for both.
      const twice = await start(full('decide-twice', approval));
      await awaiting(twice);
      const [a, b] = await Promise.all([decide(twice, 'reject'), decide(twice, 'reject')]);
      expect([a.status, b.status]).to.deep.equal([200, 200]);
      expect(a.body).to.deep.equal(b.body);
      expect(a.body.status).to.equal('REJECTED');
    });
  });

  it('a decision on a canceled pipeline is a 409 that spells the status CANCELED', async () => {
    await withWorker(stack, async () => {
      const id = await start(
        full('decide-cancel', {
          ...approval,
          training: trainingBody('label', true, { training: { epochs: 10_000, batchSize: 4, learningRate: 0.05 } }),
        }),
      );
      await eventually(
        () => request(api, 'GET', `/api/v1/pipelines/${id}`),
        (r) => r.body.stage === 'training',
        120_000,
      );
      expect((await request(api, 'POST', `/api/v1/jobs/${id}/cancel`)).status).to.equal(202);
      expect((await pipelineEnd(api, id)).status).to.equal('CANCELED');
      const res = await decide(id, 'approve');
      expectError(res, 409, 'not_awaiting_approval');
      expect(res.body.error.message).to.match(/it ended CANCELED$/);
      expect(res.body.error.message).to.not.match(/CANCELLED/);
    });
  });
});
