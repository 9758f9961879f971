import { expect } from 'chai';
import { DEFAULT_TENANT } from '../../common/tenant';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { bearer } from '../support/auth';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectError(res: JsonResponse, status: number, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  if (field !== undefined) expect(res.body.error.field, JSON.stringify(res.body)).to.equal(field);
}

describe('validation pipelines through the API (real Temporal and Postgres)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let clean: string;
  let resample: string;
  let drifted: string;
  let holdout: string;

  before(async function () {
    stack = await getTestStack();
    api = await startTestApi(stack);
    clean = await upload(api, 'blobs', blobRows(13));
    resample = await upload(api, 'blobs-resample', blobRows(14));
    drifted = await upload(api, 'blobs-shifted-x', blobRows(15, 5));
    holdout = await upload(api, 'blobs-holdout', blobRows(16));
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
  const start = async (body: unknown, kind = 'full') => {
    const res = await request(api, 'POST', `/api/v1/pipelines/${kind}`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body.pipelineId).to.match(new RegExp(`^pipeline-${kind}-[0-9a-f-]{36}$`));
    return res.body.pipelineId as string;
  };
  const versions = async (model: string) =>
    (await request(api, 'GET', `/api/v1/models/${model}/versions`)).body.versions;
  const aliasEvents = async (model: string) =>
    ((await request(api, 'GET', `/api/v1/models/${model}/events?limit=1000`)).body.events as any[]).filter(
      (e) => e.action === 'alias_set',
    );

  it('a clean dataset passes with every statistic in the report; a dataset with one shifted column fails naming it', async () => {
    await withWorker(stack, async () => {
      const passing = await start({ datasetId: resample, referenceDatasetId: clean, target: 'label' }, 'validation');
      const failing = await start({ datasetId: drifted, referenceDatasetId: clean, target: 'label' }, 'validation');
      const passed = await pipelineEnd(api, passing);
      expect(passed).to.include({ kind: 'validation', status: 'PASSED', stage: 'completed' });
      expect(passed.counts.errors).to.equal(0);
      const report = (await request(api, 'GET', `/api/v1/pipelines/${passing}/report`)).body;
      expect(report).to.include({ passed: true, datasetId: resample, referenceDatasetId: clean });
      expect(report.report.profile.map((p: any) => p.name ?? p.column)).to.include.members(['x', 'y', 'label']);
      expect(report.report.drift.map((d: any) => d.column)).to.have.members(['x', 'y']);
      for (const d of report.report.drift) {
        expect(d.psi).to.be.a('number').and.satisfy(Number.isFinite);
        expect(d.ks.pValue).to.be.within(0, 1);
        expect(d.drifted).to.equal(false);
      }
      expect(report.report.checks.length).to.equal(passed.counts.checks);
      expect(report.report.summary).to.include({ ok: true });

      const failed = await pipelineEnd(api, failing);
      expect(failed.status).to.equal('FAILED_VALIDATION');
      expect(failed.blocking).to.include('dataset_drift');
      const bad = (await request(api, 'GET', `/api/v1/pipelines/${failing}/report`)).body.report;
      const x = bad.drift.find((d: any) => d.column === 'x');
      expect(x.drifted).to.equal(true);
      expect(x.psi).to.be.greaterThan(0.25);
      expect(x.ks.pValue).to.be.lessThan(0.05);
      expect(bad.drift.find((d: any) => d.column === 'y').drifted).to.equal(false);
      const check = bad.checks.find((c: any) => c.name === 'drift' && c.column === 'x');
      expect(check.passed).to.equal(false);
      expect(check.observed.psi).to.equal(x.psi);
      expect(check.observed.pValue).to.equal(x.ks.pValue);
    });
  });

  it('a drifted dataset stops a full pipeline before training, with the report naming the column', async () => {
    await withWorker(stack, async () => {
      const id = await start(full('drift-mlp', { datasetId: drifted, referenceDatasetId: clean }));
      const view = await pipelineEnd(api, id);
      expect(view).to.include({ status: 'FAILED_VALIDATION', stage: 'completed' });
      expect(view).to.not.have.property('trainingJobId');
      const report = (await request(api, 'GET', `/api/v1/pipelines/${id}/report`)).body;
      expect(report.report.drift.find((d: any) => d.column === 'x').drifted).to.equal(true);
      expect(report).to.not.have.property('evaluation');
    });
    expectError(await request(api, 'GET', '/api/v1/models/drift-mlp'), 404, 'name');
  });

  it('first run without a champion promotes on absolute thresholds; a better candidate is promoted; a worse one is registered FAILED_VALIDATION and the alias stays', async () => {
    await withWorker(stack, async () => {
      // 1. No champion yet: a weak model passes an absolute threshold it can meet and becomes champion.
      const first = await pipelineEnd(
        api,
        await start(
          full('blob-mlp', {
            training: trainingBody('label', false),
            gate: {
              thresholds: [
                { metric: 'accuracy', threshold: 0, minAbsoluteChange: 0.5 },
                { metric: 'logLoss', threshold: 100 },
              ],
              noChampion: 'absolute-only',
            },
          }),
        ),
      );
      expect(first.status, JSON.stringify(first)).to.equal('PROMOTED');
      expect(first.gate.hasChampion).to.equal(false);
      expect(first.promotion).to.deep.equal({ alias: 'champion', version: 1 });

      // 2. A strong candidate beats it by at least 0.2 accuracy: promoted, the old one kept as previous-champion.
      const better = await start(
        full('blob-mlp', {
          gate: {
            thresholds: [
              { metric: 'accuracy', minAbsoluteChange: 0.2 },
              { metric: 'f1', threshold: 0.9 },
              { metric: 'logLoss', minRelativeChange: 0.1 },
            ],
            noChampion: 'fail',
          },
        }),
      );
      const second = await pipelineEnd(api, better);
      expect(second.status, JSON.stringify(second)).to.equal('PROMOTED');
      expect(second.metrics.champion.version).to.equal(1);
      expect(second.metrics.candidate.accuracy).to.be.at.least(0.9);
      expect(second.gate.results.map((r: any) => r.passed)).to.deep.equal([true, true, true]);
      expect(second.promotion).to.deep.equal({
        alias: 'champion',
        version: 2,
        previousVersion: 1,
        previousAlias: 'previous-champion',
      });
      const model = (await request(api, 'GET', '/api/v1/models/blob-mlp')).body;
      expect(model.aliases).to.deep.equal({ champion: 2, 'previous-champion': 1 });
      const report = (await request(api, 'GET', `/api/v1/pipelines/${better}/report`)).body;
      expect(report.evaluation.champion).to.deep.equal({ alias: 'champion', version: 1 });
      expect(report.evaluation.metrics.map((m: any) => m.metric)).to.deep.equal([
        'accuracy',
        'precision',
        'recall',
        'f1',
        'logLoss',
      ]);
      expect(report.evaluation.gate.passed).to.equal(true);
      expect(report.evaluation.holdoutRows).to.equal(45);

      // 3. The weak model again: worse than champion 2, registered FAILED_VALIDATION, alias unmoved.
      const third = await pipelineEnd(
        api,
        await start(
          full('blob-mlp', {
            training: trainingBody('label', false),
            gate: { thresholds: [{ metric: 'accuracy', minAbsoluteChange: 0 }], noChampion: 'fail' },
          }),
        ),
      );
      expect(third.status).to.equal('GATE_FAILED');
      expect(third.registered).to.include({ version: 3, status: 'FAILED_VALIDATION' });
      expect(third.gate.results[0]).to.include({ passed: false, championValue: second.metrics.candidate.accuracy });
      expect(third).to.not.have.property('promotion');
    });
    const all = await versions('blob-mlp');
    expect(all.map((v: any) => [v.version, v.status])).to.deep.equal([
      [1, 'READY'],
      [2, 'READY'],
      [3, 'FAILED_VALIDATION'],
    ]);
    expect(all[2].params.pipeline.gate.passed).to.equal(false);
    expect(all[1].params.pipeline.reportId).to.be.a('string');
    expect(all[1].metrics.holdout.accuracy).to.be.at.least(0.9);
    expect((await request(api, 'GET', '/api/v1/models/blob-mlp')).body.aliases).to.deep.equal({
      champion: 2,
      'previous-champion': 1,
    });
    const moves = await aliasEvents('blob-mlp');
    expect(moves.map((e) => [e.details.alias, e.details.version, e.details.previousVersion])).to.deep.equal([
      ['champion', 1, undefined],
      ['champion', 2, 1],
    ]);
  });

  it('approval: approve promotes and answers synchronously; reject and timeout register FAILED_VALIDATION; 409 when not waiting; 404 for unknown ids', async () => {
    await withWorker(stack, async () => {
      const approval = (onTimeout: string, timeout = '1h') => ({
        holdout: { datasetId: holdout },
        approval: { required: true, timeout, onTimeout },
      });
      const approved = await start(full('approve-mlp', approval('reject')));
      const rejected = await start(full('reject-mlp', approval('approve')));
      const timedOut = await start(full('timeout-mlp', approval('reject', '2s')));

      const early = await request(
        api,
        'POST',
        `/api/v1/pipelines/${approved}/decision`,
        { decision: 'approve' },
        bearer(api.reviewerKey!),
      );
      expectError(early, 409);
      await eventually(
        () => request(api, 'GET', `/api/v1/pipelines/${approved}`),
        (r) => r.body.status === 'AWAITING_APPROVAL',
        120_000,
      );
      const listed = await eventually(
        () => request(api, 'GET', '/api/v1/jobs?kind=pipeline&status=AWAITING_APPROVAL&limit=50'),
        (r) => r.body.jobs.some((j: any) => j.jobId === approved),
        30_000,
      );
      expect(listed.body.jobs.find((j: any) => j.jobId === approved)).to.include({
        kind: 'pipeline',
        status: 'AWAITING_APPROVAL',
        stage: 'awaiting-approval',
      });
      expect((await request(api, 'GET', `/api/v1/jobs/${approved}`)).body.status).to.equal('AWAITING_APPROVAL');
      const runningList = await request(api, 'GET', '/api/v1/jobs?kind=pipeline&status=RUNNING&limit=100');
      expect(runningList.status, JSON.stringify(runningList.body)).to.equal(200);
      expect(runningList.body.jobs.map((j: any) => j.jobId)).to.not.include(approved);
      const decided = await request(
        api,
        'POST',
        `/api/v1/pipelines/${approved}/decision`,
        { decision: 'approve', comment: 'looks good' },
        bearer(api.reviewerKey!),
      );
      expect(decided.status, JSON.stringify(decided.body)).to.equal(200);
      expect(decided.body).to.deep.include({ status: 'PROMOTED', promotion: { alias: 'champion', version: 1 } });
      expect(decided.body.decision).to.include({ decision: 'approve', comment: 'looks good', by: 'reviewer' });
      expect((await pipelineEnd(api, approved)).status).to.equal('PROMOTED');
      expectError(
        await request(
          api,
          'POST',
          `/api/v1/pipelines/${approved}/decision`,
          { decision: 'reject' },
          bearer(api.reviewerKey!),
        ),
        409,
      );

      await eventually(
        () => request(api, 'GET', `/api/v1/pipelines/${rejected}`),
        (r) => r.body.status === 'AWAITING_APPROVAL',
        120_000,
      );
      const no = await request(
        api,
        'POST',
        `/api/v1/pipelines/${rejected}/decision`,
        { decision: 'reject' },
        bearer(api.reviewerKey!),
      );
      expect(no.body).to.deep.include({ status: 'REJECTED' });
      expect(no.body.registered).to.include({ version: 1, status: 'FAILED_VALIDATION' });

      const timeout = await pipelineEnd(api, timedOut);
      expect(timeout.status).to.equal('REJECTED');
      expect(timeout.decision).to.include({ decision: 'reject', by: 'timeout' });
    });
    expect((await request(api, 'GET', '/api/v1/models/approve-mlp')).body.aliases).to.deep.equal({ champion: 1 });
    expect((await request(api, 'GET', '/api/v1/models/reject-mlp')).body.aliases).to.deep.equal({});
    expect((await versions('timeout-mlp')).map((v: any) => v.status)).to.deep.equal(['FAILED_VALIDATION']);
    expectError(
      await request(api, 'POST', '/api/v1/pipelines/pipeline-full-00000000-0000-4000-8000-000000000000/decision', {
        decision: 'approve',
      }),
      404,
      'id',
    );
    expectError(await request(api, 'GET', '/api/v1/pipelines/nope'), 404, 'id');
    expectError(
      await request(api, 'GET', '/api/v1/pipelines/pipeline-full-00000000-0000-4000-8000-000000000000/report'),
      404,
    );
  });

  it('lists pipelines as kind pipeline in GET /api/v1/jobs', async () => {
    const res = await eventually(
      () => request(api, 'GET', '/api/v1/jobs?kind=pipeline&limit=100'),
      (r) => r.body.jobs.length >= 6,
      30_000,
    );
    expect(res.body.jobs.every((j: any) => j.kind === 'pipeline')).to.equal(true);
  });

  it('documents the pipeline routes in the OpenAPI document', async () => {
    const doc = (await request(api, 'GET', '/api/v1/openapi.json')).body;
    for (const route of ['validation', 'full', '{id}', '{id}/report', '{id}/decision'])
      expect(doc.paths).to.have.property(`/api/v1/pipelines/${route}`);
    const body = doc.paths['/api/v1/pipelines/full'].post.requestBody.content['application/json'].schema;
    expect(body.required).to.include.members(['model', 'holdout', 'gate', 'promote']);
    for (const optional of ['datasetId', 'dataset', 'training', 'clustering'])
      expect(body.required).to.not.include(optional);
    // Two independent choices: the dataset (an id or a series version) and the candidate (an MLP or a clustering model).
    expect(body.allOf).to.deep.equal([
      { oneOf: [{ required: ['datasetId'] }, { required: ['dataset'] }] },
      { oneOf: [{ required: ['training'] }, { required: ['clustering'] }] },
    ]);
  });

  it('rejects bad bodies with a 400 naming the field', async () => {
    const post = (body: unknown, kind = 'full') => request(api, 'POST', `/api/v1/pipelines/${kind}`, body);
    const unknownDataset = '00000000-0000-4000-8000-000000000000';
    // Validation pipelines.
    expectError(await post({}, 'validation'), 400, 'datasetId');
    expectError(await post({ datasetId: 'x' }, 'validation'), 400, 'datasetId');
    expectError(await post({ datasetId: unknownDataset }, 'validation'), 404, 'datasetId');
    expectError(
      await post({ datasetId: clean, referenceDatasetId: unknownDataset }, 'validation'),
      404,
      'referenceDatasetId',
    );
    expectError(await post({ datasetId: clean, checks: { psiBins: 1 } }, 'validation'), 400, 'checks.psiBins');
    expectError(await post({ datasetId: clean, checks: { nope: 1 } }, 'validation'), 400, 'checks.nope');
    expectError(await post({ datasetId: clean, priority: 9 }, 'validation'), 400, 'priority');
    expectError(await post({ datasetId: clean, extra: 1 }, 'validation'), 400);
    // Full pipelines: every part of the body.
    const body = full('bad-mlp');
    const gate = (thresholds: unknown[]) => ({ ...body, gate: { thresholds, noChampion: 'fail' } });
    expectError(await post({ ...body, model: { name: '../x' } }), 400, 'model.name');
    expectError(await post({ ...body, datasetId: unknownDataset }), 404, 'datasetId');
    expectError(await post({ ...body, holdout: { datasetId: unknownDataset } }), 404, 'holdout.datasetId');
    expectError(await post({ ...body, holdout: { fraction: 0.001, seed: 1 } }), 400, 'holdout.fraction');
    expectError(await post({ ...body, holdout: { fraction: 1.5, seed: 1 } }), 400);
    expectError(await post({ ...body, referenceDatasetId: unknownDataset }), 404, 'referenceDatasetId');
    expectError(await post({ ...body, checks: { maxDriftShare: 2 } }), 400, 'checks.maxDriftShare');
    expectError(await post({ ...body, training: { ...body.training, target: 'nope' } }), 400, 'training.target');
    expectError(
      await post({ ...body, training: { ...body.training, training: { epochs: 0, batchSize: 1, learningRate: 0.1 } } }),
      400,
      'training.training.epochs',
    );
    expectError(await post({ ...body, training: { ...body.training, datasetId: holdout } }), 400, 'training.datasetId');
    expectError(await post(gate([])), 400, 'gate.thresholds');
    expectError(await post(gate([{ metric: 'auc', threshold: 0.5 }])), 400, 'gate.thresholds[0].metric');
    expectError(await post(gate([{ metric: 'mse', threshold: 0.5 }])), 400, 'gate.thresholds[0].metric');
    expectError(await post(gate([{ metric: 'accuracy' }])), 400, 'gate.thresholds[0]');
    expectError(
      await post(gate([{ metric: 'accuracy', minRelativeChange: 2 }])),
      400,
      'gate.thresholds[0].minRelativeChange',
    );
    expectError(
      await post({ ...body, gate: { thresholds: [{ metric: 'f1', threshold: 1 }], noChampion: 'maybe' } }),
      400,
      'gate.noChampion',
    );
    expectError(
      await post({ ...body, approval: { required: true, timeout: 'soon', onTimeout: 'reject' } }),
      400,
      'approval.timeout',
    );
    expectError(
      await post({ ...body, approval: { required: true, timeout: '2s', onTimeout: 'later' } }),
      400,
      'approval.onTimeout',
    );
    expectError(await post({ ...body, promote: { alias: 'latest' } }), 400, 'promote.alias');
    expectError(await post({ ...body, promote: { alias: 'Champion' } }), 400, 'promote.alias');
    expectError(await post({ ...body, promote: undefined }), 400, 'promote');
    expectError(
      await request(api, 'POST', '/api/v1/pipelines/full', 'not json', { 'content-type': 'application/json' }),
      400,
      'body',
    );
    // A regression holdout dataset without the target column.
    const noTarget = await upload(
      api,
      'no-target',
      blobRows(17).map(({ x, y }) => ({ x, y })),
    );
    expectError(await post({ ...body, holdout: { datasetId: noTarget } }), 400, 'holdout.datasetId');
    expect(
      (
        await stack.pool.query(`SELECT count(*)::int AS n FROM validation_reports WHERE tenant_id = $1`, [
          DEFAULT_TENANT,
        ])
      ).rows[0].n,
    ).to.be.greaterThan(0);
  });
});
