import { expect } from 'chai';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectError(res: JsonResponse, status: number, field?: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  if (field !== undefined) expect(res.body.error.field, JSON.stringify(res.body)).to.equal(field);
  if (message !== undefined) expect(res.body.error.message).to.match(message);
}

/**
 * What a full pipeline refuses before it starts (each a run that would have trained and then failed, or promoted on
 * nothing), and the holdout classes the data checks and the evaluation report.
 */
describe('full pipelines: what is refused at submit, and unseen holdout classes', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let clean: string;
  let holdout: string;

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    clean = await upload(api, 'submit-blobs', blobRows(31));
    holdout = await upload(api, 'submit-blobs-holdout', blobRows(32));
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
  const post = (body: unknown, kind = 'full') => request(api, 'POST', `/api/v1/pipelines/${kind}`, body);
  const gate = (thresholds: unknown[]) => full('submit-mlp', { gate: { thresholds, noChampion: 'absolute-only' } });
  const clustering = { algorithm: 'kmeans', params: { k: 3, seed: 1 }, labelsColumn: 'label' };

  it('a holdout too small to gate on: fewer than 10 rows held out, or fewer than 10 left to train (400)', async () => {
    const tiny = await upload(api, 'submit-tiny-holdout', blobRows(33).slice(0, 5));
    expectError(
      await post(full('submit-mlp', { holdout: { datasetId: tiny } })),
      400,
      'holdout.datasetId',
      /has 5 rows; a holdout needs at least 10/,
    );
    // 180 rows: 0.05 holds out 9, 0.9999 leaves 1 to train on.
    expectError(
      await post(full('submit-mlp', { holdout: { fraction: 0.05, seed: 1 } })),
      400,
      'holdout.fraction',
      /holds out 9; a holdout needs at least 10/,
    );
    expectError(
      await post(full('submit-mlp', { holdout: { fraction: 0.9999, seed: 1 } })),
      400,
      'holdout.fraction',
      /leaves 1 to train on; at least 10/,
    );
    // The pipeline's own dataset as its holdout: evaluated on what it trained on.
    expectError(
      await post(full('submit-mlp', { holdout: { datasetId: clean } })),
      400,
      'holdout.datasetId',
      /the pipeline's datasetId/,
    );
  });

  it('holdout errors name the sub-field and why', async () => {
    const holdoutOf = (h: unknown) => post(full('submit-mlp', { holdout: h }));
    expectError(await holdoutOf({ fraction: 'NaN', seed: 1 }), 400, 'holdout.fraction', /between 0 and 1/);
    expectError(await holdoutOf({ fraction: 0.25, seed: 1.5 }), 400, 'holdout.seed', /integer in 0\.\.4294967295/);
    expectError(await holdoutOf({ fraction: 0.25, seed: '1' }), 400, 'holdout.seed', /integer in 0\.\.4294967295/);
    expectError(
      await holdoutOf({ datasetId: holdout, fraction: 0.25 }),
      400,
      'holdout.fraction',
      /not allowed with holdout.datasetId/,
    );
    expectError(await holdoutOf({ fraction: 0.25 }), 400, 'holdout.seed', /required with holdout.fraction/);
    expectError(await holdoutOf({}), 400, 'holdout', /give datasetId .* or fraction and seed/);
  });

  it('thresholds no model can meet, duplicates, and metrics undefined on the holdout dataset (400)', async () => {
    for (const value of [2, 1e308, -5])
      expectError(
        await post(gate([{ metric: 'accuracy', threshold: value }])),
        400,
        'gate.thresholds[0].threshold',
        /outside the range of accuracy, \[0, 1\]/,
      );
    expectError(await post(gate([{ metric: 'logLoss', threshold: -0.1 }])), 400, 'gate.thresholds[0].threshold', /≥ 0/);
    expectError(
      await post(gate([{ metric: 'accuracy', minAbsoluteChange: 2 }])),
      400,
      'gate.thresholds[0].minAbsoluteChange',
    );
    expectError(
      await post(
        gate([
          { metric: 'accuracy', threshold: 0.5 },
          { metric: 'f1', threshold: 0.5 },
          { metric: 'accuracy', minAbsoluteChange: 0.1 },
        ]),
      ),
      400,
      'gate.thresholds[2].metric',
      /already has a threshold \(gate.thresholds\[0\]\)/,
    );
    const regression = full('submit-reg', {
      training: {
        ...trainingBody('x', true),
        features: ['y'],
        spec: { task: 'regression', layers: [{ units: 4, activation: 'relu' }] },
      },
    });
    expectError(
      await post({ ...regression, gate: { thresholds: [{ metric: 'r2', threshold: 1.5 }], noChampion: 'fail' } }),
      400,
      'gate.thresholds[0].threshold',
      /≤ 1/,
    );
    // A one-class holdout dataset: macro F1 is undefined there, accuracy is fine.
    const oneClass = await upload(
      api,
      'submit-one-class',
      blobRows(34)
        .filter((r) => r.label === 'a')
        .slice(0, 20),
    );
    expectError(
      await post({ ...gate([{ metric: 'f1', threshold: 0.5 }]), holdout: { datasetId: oneClass } }),
      400,
      'gate.thresholds[0].metric',
      /f1 is undefined on the holdout dataset: macro f1 needs two classes and the holdout's target has 1/,
    );
  });

  it('a validation pipeline refuses an unknown target as the full pipeline does (400 naming target)', async () => {
    expectError(await post({ datasetId: clean, target: 'nope' }, 'validation'), 400, 'target', /no column "nope"/);
    expectError(
      await post(full('submit-mlp', { training: { ...trainingBody('nope', true) } })),
      400,
      'training.target',
    );
  });

  it('unknown keys, odd checks values: 400 naming the key', async () => {
    const unknown = await post({ datasetId: clean, extra: 1 }, 'validation');
    expectError(unknown, 400, 'extra', /unknown field "extra"/);
    expect(unknown.body.error.code).to.equal('unknown_field');
    expectError(await post({ ...full('submit-mlp'), extra: 1 }), 400, 'extra');
    const decision = await request(
      api,
      'POST',
      '/api/v1/pipelines/pipeline-full-00000000-0000-4000-8000-000000000000/decision',
      { decision: 'approve', extra: 1 },
    );
    expectError(decision, 400, 'extra');
    expect(decision.body.error.code).to.equal('unknown_field');

    expectError(await post({ datasetId: clean, checks: { severities: null } }, 'validation'), 400, 'checks.severities');
    expectError(
      await post({ datasetId: clean, checks: { severities: { drift: 'fatal' } } }, 'validation'),
      400,
      'checks.severities.drift',
    );
    expectError(await post({ datasetId: clean, checks: { psiBins: '5' } }, 'validation'), 400, 'checks.psiBins');
    // JSON.parse keeps "__proto__" as an own key; the schema must refuse it, not drop it.
    const raw = `{"datasetId":"${clean}","checks":{"__proto__":{"minRows":5}}}`;
    const proto = await request(api, 'POST', '/api/v1/pipelines/validation', raw, {
      'content-type': 'application/json',
    });
    expectError(proto, 400, 'checks.__proto__');
    expect(proto.body.error.code).to.equal('unknown_field');
    const nested = `{"datasetId":"${clean}","checks":{"severities":{"__proto__":{"drift":"error"}}}}`;
    expectError(
      await request(api, 'POST', '/api/v1/pipelines/validation', nested, { 'content-type': 'application/json' }),
      400,
      'checks.severities.__proto__',
    );
  });

  it('clustering candidates: exactly one candidate, an algorithm that assigns new points, the pipeline dataset', async () => {
    const { training: _training, ...noCandidate } = full('submit-clusters');
    const body = (c: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...noCandidate,
      clustering: { ...clustering, ...c },
      gate: { thresholds: [{ metric: 'silhouette', threshold: 0.3 }], noChampion: 'absolute-only' },
      ...extra,
    });
    expectError(await post(noCandidate), 400, 'training', /exactly one of training .* and clustering/);
    expectError(await post({ ...full('submit-clusters'), clustering }), 400, 'clustering');
    expectError(
      await post(body({ algorithm: 'dbscan', params: { eps: 1 } })),
      400,
      'clustering.algorithm',
      /dbscan cannot assign new points/,
    );
    expectError(await post(body({ params: { k: 0 } })), 400, 'clustering.params.k');
    expectError(await post(body({ params: { k: 150 } })), 400, 'clustering.params.k', /trains on 135 rows/);
    expectError(await post(body({ data: [[1, 2]] })), 400, 'clustering.data');
    expectError(await post(body({ datasetId: holdout })), 400, 'clustering.datasetId');
    expectError(await post(body({ register: { name: 'other' } })), 400, 'clustering.register.name');
    expectError(await post(body({ labelsColumn: undefined })), 400, 'clustering.columns', /holds text/);
    expectError(await post(body({ columns: ['x', 'nope'] })), 400, 'clustering.columns[1]');
    expectError(
      await post(body({}, { gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'fail' } })),
      400,
      'gate.thresholds[0].metric',
      /a clustering model does not produce accuracy/,
    );
    expectError(
      await post(body({}, { gate: { thresholds: [{ metric: 'silhouette', threshold: 1.5 }], noChampion: 'fail' } })),
      400,
      'gate.thresholds[0].threshold',
      /\[-1, 1\]/,
    );
  });

  it('a champion the candidate cannot be compared with is refused at submit (422 naming promote.alias)', async () => {
    await withWorker(stack, async () => {
      // A k-means model and an MLP classifier, each `champion` of its name.
      const kmeans = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 3, seed: 1 },
        datasetId: clean,
        labelsColumn: 'label',
        register: { name: 'submit-kmeans' },
      });
      expect(kmeans.status, JSON.stringify(kmeans.body)).to.equal(202);
      const training = await request(api, 'POST', '/api/v1/training', {
        ...trainingBody('label', false),
        datasetId: clean,
        model: { name: 'submit-classifier' },
      });
      expect(training.status, JSON.stringify(training.body)).to.equal(202);
      for (const job of [kmeans.body.jobId, training.body.jobId]) {
        const done = await request(api, 'GET', `/api/v1/jobs/${job}/result?wait=60`);
        expect(done.status, JSON.stringify(done.body)).to.equal(200);
      }
    });
    for (const model of ['submit-kmeans', 'submit-classifier'])
      expect((await request(api, 'PUT', `/api/v1/models/${model}/aliases/champion`, { version: 1 })).status).to.equal(
        200,
      );

    const incompatible = (res: JsonResponse, message: RegExp) => {
      expectError(res, 422, 'promote.alias', message);
      expect(res.body.error.code).to.equal('incompatible_champion');
    };
    // An MLP candidate for a name whose champion is a k-means model.
    incompatible(
      await post(full('submit-kmeans')),
      /points at version 1, a kmeans model \(the candidate is mlp-classification\)/,
    );
    // A regression candidate against a classifier.
    const regression = full('submit-classifier', {
      training: {
        ...trainingBody('x', true),
        features: ['y'],
        spec: { task: 'regression', layers: [{ units: 4, activation: 'relu' }] },
      },
      gate: { thresholds: [{ metric: 'mse', threshold: 100 }], noChampion: 'absolute-only' },
    });
    incompatible(await post(regression), /a mlp-classification model \(the candidate is mlp-regression\)/);
    // A clustering candidate against a classifier; against k-means on other columns.
    const { training: _training, ...rest } = full('submit-classifier');
    const clusteringBody = (model: string, c: Record<string, unknown> = {}) => ({
      ...rest,
      model: { name: model },
      clustering: { ...clustering, ...c },
      gate: { thresholds: [{ metric: 'silhouette', threshold: 0.3 }], noChampion: 'absolute-only' },
    });
    incompatible(
      await post(clusteringBody('submit-classifier')),
      /a mlp-classification model \(a clustering candidate/,
    );
    incompatible(
      await post(clusteringBody('submit-kmeans', { columns: ['x'] })),
      /fitted on columns \["x","y"\] \(the candidate clusters \["x"\]\)/,
    );
    // Another alias of the same name has no holder: no champion, accepted.
    const accepted = await post({ ...full('submit-kmeans'), promote: { alias: 'mlp-champion' } });
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
    await stack.env.client.workflow.getHandle(accepted.body.pipelineId).terminate('not needed');
  });

  it('a holdout class the training data lacks fails validation (error); as a warning, the evaluation reports it', async () => {
    // 12 rows of class "z", which the training data never holds.
    const withZ = await upload(
      api,
      'submit-holdout-z',
      blobRows(35).map((r, i) => (i < 12 ? { ...r, label: 'z' } : r)),
    );
    await withWorker(stack, async () => {
      const blocked = await pipelineEnd(
        api,
        (await post(full('submit-unseen', { holdout: { datasetId: withZ } }))).body.pipelineId,
      );
      expect(blocked.status).to.equal('FAILED_VALIDATION');
      expect(blocked.blocking).to.include('holdout_unseen_target(label)');
      const check = (
        await request(api, 'GET', `/api/v1/pipelines/${blocked.pipelineId}/report`)
      ).body.report.checks.find((c: { name: string }) => c.name === 'holdout_unseen_target');
      expect(check).to.deep.include({
        passed: false,
        severity: 'error',
        observed: { classes: ['z'], distinct: 1, rows: 12 },
      });

      const warned = await pipelineEnd(
        api,
        (
          await post(
            full('submit-unseen', {
              holdout: { datasetId: withZ },
              checks: { severities: { holdout_unseen_target: 'warn' } },
            }),
          )
        ).body.pipelineId,
      );
      expect(warned.status, JSON.stringify(warned)).to.equal('PROMOTED');
      const evaluation = (await request(api, 'GET', `/api/v1/pipelines/${warned.pipelineId}/report`)).body.evaluation;
      expect(evaluation.details.candidate.unseenClasses).to.deep.equal([{ class: 'z', rows: 12 }]);
      expect(evaluation.details.candidate.classes).to.include('z');
    });
  });

  it('OpenAPI: the decision lists 413 and 503; approval.timeout carries its pattern', async () => {
    const doc = (await request(api, 'GET', '/api/v1/openapi.json')).body;
    expect(Object.keys(doc.paths['/api/v1/pipelines/{id}/decision'].post.responses)).to.include.members([
      '400',
      '404',
      '409',
      '413',
      '415',
      '503',
    ]);
    const body = doc.paths['/api/v1/pipelines/full'].post.requestBody.content['application/json'].schema;
    const timeout = body.properties.approval.properties.timeout;
    expect(timeout.pattern).to.equal('^([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h|d)$');
    expect(new RegExp(timeout.pattern).test('24h')).to.equal(true);
    expect(new RegExp(timeout.pattern).test('soon')).to.equal(false);
    expect(body.properties.holdout.properties.seed).to.include({ type: 'integer', minimum: 0, maximum: 4294967295 });
    expect(body.properties.checks.additionalProperties).to.equal(false);
  });
});
