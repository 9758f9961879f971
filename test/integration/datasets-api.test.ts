import { expect } from 'chai';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack } from '../support/test-stack';

describe('datasets API', function () {
  let api: TestApi;
  before(async function () {
    this.timeout(300_000);
    api = await startTestApi(await getTestStack());
  });
  after(async () => api?.close());

  it('stores JSON, CSV and NDJSON uploads of the same table once, under one sha256', async () => {
    const json = await request(api, 'POST', '/api/v1/datasets', {
      name: 'same',
      data: [
        { a: 1.5, b: 2 },
        { a: 3, b: -4 },
      ],
    });
    expect(json.status).to.equal(201);
    expect(json.body).to.include({ name: 'same', rows: 2, columns: 2, sourceFormat: 'json', created: true });
    const csv = await request(api, 'POST', '/api/v1/datasets?name=again', 'a,b\n1.5,2\n3,-4\n', {
      'content-type': 'text/csv',
    });
    expect(csv.status).to.equal(200);
    expect(csv.body).to.include({ id: json.body.id, sha256: json.body.sha256, created: false });
    const ndjson = await request(api, 'POST', '/api/v1/datasets', '{"a":1.5,"b":2}\n{"a":3,"b":-4}\n', {
      'content-type': 'application/x-ndjson',
    });
    expect(ndjson.status).to.equal(200);
    expect(ndjson.body.id).to.equal(json.body.id);
  });

  it('returns metadata by id, with text columns as categorical', async () => {
    const created = await request(
      api,
      'POST',
      '/api/v1/datasets?name=iris-ish',
      'len,species\n5.1,setosa\n7.0,versicolor\n6.3,virginica\n5.0,setosa\n',
      {
        'content-type': 'text/csv',
      },
    );
    expect(created.status).to.equal(201);
    const fetched = await request(api, 'GET', `/api/v1/datasets/${created.body.id}`);
    expect(fetched.status).to.equal(200);
    expect(fetched.body).to.include({ id: created.body.id, name: 'iris-ish', rows: 4, columns: 2 });
    expect(fetched.body.columnSpecs).to.deep.equal([
      { name: 'len', type: 'number' },
      { name: 'species', type: 'string', levels: 3 },
    ]);
    const listed = await request(api, 'GET', '/api/v1/datasets?limit=100');
    expect(listed.body.datasets.map((d: { id: string }) => d.id)).to.include(created.body.id);
  });

  it('serves /health, /ready, /metrics, the algorithm catalogue and the OpenAPI document', async () => {
    expect((await request(api, 'GET', '/health')).body).to.deep.equal({ status: 'ok' });
    const ready = await request(api, 'GET', '/ready');
    expect(ready.status).to.equal(200);
    expect(ready.body.checks.postgres.ok).to.equal(true);
    expect(ready.body.checks.temporal.ok).to.equal(true);
    const metrics = await request(api, 'GET', '/metrics');
    expect(metrics.body).to.match(/kiln_http_requests_total\{method="GET",route="\/ready",status="200"\} 1/);
    expect(metrics.body).to.contain('process_cpu_user_seconds_total');
    const algorithms = await request(api, 'GET', '/api/v1/algorithms');
    const kmeans = algorithms.body.algorithms.find((a: { name: string }) => a.name === 'kmeans');
    expect(kmeans.params.required).to.deep.equal(['k']);
    expect(kmeans.params.properties.maxIterations.default).to.equal(300);
    const openapi = await request(api, 'GET', '/api/v1/openapi.json');
    expect(openapi.body.openapi).to.equal('3.1.0');
    expect(
      openapi.body.paths['/api/v1/clustering'].post.requestBody.content['application/json'].schema.required,
    ).to.include('algorithm');
  });
});
