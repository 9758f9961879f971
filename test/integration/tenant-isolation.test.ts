import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { NotFoundError } from '../../common/errors';
import { JobService } from '../../api/services/jobs';
import { makeBlobs } from '../support/blobs';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * Tenant isolation end to end (README: Tenants): tenant A makes one of everything, then tenant B, an admin of its own
 * tenant, walks every read route of the OpenAPI document with A's ids (404 each; lists answer 200 with none of A's
 * items) and every mutating route on A's things (404, nothing changed). A's own requests on the same paths are the
 * control: each path is filled right, so B's 404 is the tenant check and not a typo.
 */
describe('tenant isolation: another tenant sees and changes nothing', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let a: Record<string, string>;
  let b: Record<string, string>;
  // A's things.
  const model = `iso-${randomUUID().slice(0, 8)}`;
  const ids: Record<string, string> = {};

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    await createTestTenant(stack.pool, 'tenant-a');
    await createTestTenant(stack.pool, 'tenant-b');
    a = bearer(await createTestKey(stack.pool, { tenantId: 'tenant-a', role: 'admin' }));
    b = bearer(await createTestKey(stack.pool, { tenantId: 'tenant-b', role: 'admin' }));

    const blobs = makeBlobs(
      30,
      [
        [0, 0],
        [6, 6],
      ],
      0.5,
      11,
    );
    const series = `iso-series-${randomUUID().slice(0, 8)}`;
    const dataset = await request(api, 'POST', '/api/v1/datasets', { name: series, data: blobs.points }, a);
    expect(dataset.status, JSON.stringify(dataset.body)).to.equal(201);
    ids.dataset = dataset.body.id;
    ids.series = series;
    await withWorker(stack, async () => {
      const started = await request(
        api,
        'POST',
        '/api/v1/clustering',
        { algorithm: 'kmeans', params: { k: 2, seed: 1 }, datasetId: ids.dataset, register: { name: model } },
        a,
      );
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      ids.job = started.body.jobId;
      const result = await request(api, 'GET', `/api/v1/jobs/${ids.job}/result?wait=60`, undefined, a);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      ids.artifact = result.body.links.resultArtifact.split('/').pop();
      const pipeline = await request(api, 'POST', '/api/v1/pipelines/validation', { datasetId: ids.dataset }, a);
      expect(pipeline.status, JSON.stringify(pipeline.body)).to.equal(202);
      ids.pipeline = pipeline.body.pipelineId;
      await eventually(
        () => request(api, 'GET', `/api/v1/pipelines/${ids.pipeline}`, undefined, a),
        (r) => r.status === 200 && r.body.status !== 'RUNNING',
      );
    });
    const alias = await request(api, 'PUT', `/api/v1/models/${model}/aliases/champion`, { version: 1 }, a);
    expect(alias.status, JSON.stringify(alias.body)).to.equal(200);
    const schedule = await request(
      api,
      'POST',
      '/api/v1/schedules',
      {
        action: { kind: 'clustering', request: { algorithm: 'kmeans', params: { k: 2 }, dataset: { name: series } } },
        spec: { intervals: [{ every: '24h' }] },
      },
      a,
    );
    expect(schedule.status, JSON.stringify(schedule.body)).to.equal(201);
    ids.schedule = schedule.body.scheduleId;
  });

  after(async () => {
    if (ids.schedule) await request(api, 'DELETE', `/api/v1/schedules/${ids.schedule}`, undefined, a);
    await api?.close();
  });

  it("gives tenant A's jobs and schedules ids with A's prefix, and A's jobs A's KilnTenant", async () => {
    expect(ids.job).to.match(/^tenant-a\.clustering-[0-9a-f-]{36}$/);
    expect(ids.pipeline).to.match(/^tenant-a\.pipeline-validation-[0-9a-f-]{36}$/);
    expect(ids.schedule).to.match(/^tenant-a\.schedule-[0-9a-f-]{36}$/);
    const description = await stack.env.client.workflow.getHandle(ids.job).describe();
    expect(description.searchAttributes.KilnTenant).to.deep.equal(['tenant-a']);
  });

  /** Path parameters filled with A's ids. */
  function fill(path: string): string | undefined {
    const byParam: Record<string, string> = {
      jobId: ids.job,
      name: model,
      version: '1',
      alias: 'champion',
      algorithm: 'kmeans',
    };
    const idOf: Array<[string, string]> = [
      ['/api/v1/datasets/', ids.dataset],
      ['/api/v1/artifacts/', ids.artifact],
      ['/api/v1/pipelines/', ids.pipeline],
      ['/api/v1/schedules/', ids.schedule],
    ];
    let missing = false;
    const filled = path.replace(/\{([^}]+)\}/g, (_, param: string) => {
      const value = param === 'id' ? idOf.find(([prefix]) => path.startsWith(prefix))?.[1] : byParam[param];
      if (value === undefined) missing = true;
      return encodeURIComponent(value ?? '');
    });
    return missing ? undefined : filled;
  }

  // Platform-wide, no tenant's data: GPUs and their telemetry, the pools' status, health, the API's own description.
  const PLATFORM = [/^\/api\/v1\/gpus/, /^\/api\/gpu\//, /^\/api\/v1\/resources\//, /^\/(health|ready|metrics)$/];
  const PUBLIC = ['/api/v1/openapi.json', '/api/v1/algorithms', '/api/algorithms'];
  // Tenant management is a platform admin's: a tenant's own admin (B here) is refused outright.
  const PLATFORM_ADMIN = [/^\/api\/v1\/tenants/];

  it("answers tenant B 404 on every read route with A's ids, and lists without A's items", async () => {
    const doc = await request(api, 'GET', '/api/v1/openapi.json');
    const paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .filter(([, methods]) => 'get' in methods)
      .map(([path]) => path);
    expect(paths.length).to.be.greaterThan(20);
    const walked: string[] = [];
    const aItems = [ids.dataset, ids.job, ids.artifact, ids.pipeline, ids.schedule, model, ids.series];
    for (const path of paths) {
      if (PUBLIC.includes(path) || PLATFORM.some((p) => p.test(path))) continue;
      if (PLATFORM_ADMIN.some((p) => p.test(path))) {
        const other = await request(api, 'GET', path.replace('{id}', 'tenant-a'), undefined, b);
        expect(other.status, `B's ${path}: ${JSON.stringify(other.body)}`).to.equal(403);
        walked.push(path);
        continue;
      }
      const filled = fill(path);
      expect(filled, `no id of A's to fill ${path} with`).to.not.equal(undefined);
      // Event routes answer JSON pages with ?after= (the stream's headers would hold the connection).
      const url = path.endsWith('/events') ? `${filled}?after=0` : filled!;
      if (path.includes('{')) {
        const own = await request(api, 'GET', url, undefined, a);
        expect(own.status, `A's own ${url}: ${JSON.stringify(own.body)}`).to.not.equal(404);
        const other = await request(api, 'GET', url, undefined, b);
        expect(other.status, `B's ${url}: ${JSON.stringify(other.body)}`).to.equal(404);
        for (const item of aItems)
          if (item !== undefined && !url.includes(item)) expect(JSON.stringify(other.body)).to.not.include(item);
      } else {
        const list = path === '/api/v1/datasets' ? [url, `${url}?name=${ids.series}`] : [url];
        for (const u of list) {
          const other = await request(api, 'GET', u, undefined, b);
          expect(other.status, `B's ${u}: ${JSON.stringify(other.body)}`).to.equal(200);
          // A series' versions echo the name asked for: none of them, and nothing else of A's.
          if (u.includes('?name=')) expect(other.body.versions, `B's ${u}`).to.deep.equal([]);
          for (const item of aItems)
            if (!u.includes(item)) expect(JSON.stringify(other.body), `B's ${u}`).to.not.include(item);
        }
      }
      walked.push(path);
    }
    // The control for the lists: A's own job list shows A's job once visibility has it (B's never did).
    await eventually(
      () => request(api, 'GET', '/api/v1/jobs?limit=100', undefined, a),
      (r) => JSON.stringify(r.body).includes(ids.job),
    );
    for (const must of ['/api/v1/jobs/{jobId}/events', '/api/v1/models/{name}/aliases/{alias}', '/api/v1/jobs'])
      expect(walked).to.include(must);
  });

  it("answers tenant B 404 on every change to A's things, and nothing changes", async () => {
    const before = {
      model: (await request(api, 'GET', `/api/v1/models/${model}`, undefined, a)).body,
      schedule: (await request(api, 'GET', `/api/v1/schedules/${ids.schedule}`, undefined, a)).body,
    };
    const attempts: Array<[string, string, unknown]> = [
      ['POST', `/api/v1/jobs/${ids.job}/stop`, undefined],
      ['POST', `/api/v1/jobs/${ids.job}/cancel`, undefined],
      ['PATCH', `/api/v1/models/${model}`, { description: 'taken over' }],
      ['PATCH', `/api/v1/models/${model}/versions/1`, { description: 'taken over' }],
      ['PUT', `/api/v1/models/${model}/aliases/champion`, { version: 1 }],
      ['DELETE', `/api/v1/models/${model}/aliases/champion`, undefined],
      ['DELETE', `/api/v1/models/${model}`, undefined],
      ['POST', `/api/v1/schedules/${ids.schedule}/pause`, undefined],
      ['POST', `/api/v1/schedules/${ids.schedule}/trigger`, undefined],
      ['PATCH', `/api/v1/schedules/${ids.schedule}`, { description: 'taken over' }],
      ['DELETE', `/api/v1/schedules/${ids.schedule}`, undefined],
      ['POST', `/api/v1/pipelines/${ids.pipeline}/decision`, { decision: 'approve' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await request(api, method, path, body, b);
      expect(res.status, `B's ${method} ${path}: ${JSON.stringify(res.body)}`).to.equal(404);
    }
    const after = {
      model: (await request(api, 'GET', `/api/v1/models/${model}`, undefined, a)).body,
      schedule: (await request(api, 'GET', `/api/v1/schedules/${ids.schedule}`, undefined, a)).body,
    };
    expect(after.model).to.deep.equal(before.model);
    expect(after.schedule.paused).to.equal(false);
    expect(after.schedule.counts).to.deep.equal(before.schedule.counts);
    expect(after.schedule.description).to.equal(undefined);
    const champion = await request(api, 'GET', `/api/v1/models/${model}/aliases/champion`, undefined, a);
    expect(champion.body.version).to.equal(1);
    const events = await request(api, 'GET', `/api/v1/models/${model}/events`, undefined, a);
    expect(JSON.stringify(events.body)).to.not.include('taken over');
  });

  it("keeps names per tenant: B may create a model named as one of A's, and each sees its own", async () => {
    const created = await request(api, 'POST', '/api/v1/models', { name: model, description: "B's" }, b);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect((await request(api, 'GET', `/api/v1/models/${model}`, undefined, b)).body.description).to.equal("B's");
    expect((await request(api, 'GET', `/api/v1/models/${model}`, undefined, a)).body.description).to.not.equal("B's");
    expect((await request(api, 'GET', `/api/v1/models/${model}/versions`, undefined, b)).body.versions).to.deep.equal(
      [],
    );
  });

  it("answers a job id typed with another tenant's prefix 404, as an unknown job, without asking Temporal", async () => {
    const uuid = randomUUID();
    const foreign = await request(api, 'GET', `/api/v1/jobs/tenant-a.clustering-${uuid}`, undefined, b);
    const unknown = await request(api, 'GET', `/api/v1/jobs/tenant-b.clustering-${uuid}`, undefined, b);
    expect(foreign.status).to.equal(404);
    expect(unknown.status).to.equal(404);
    // The same answer but for the id itself: nothing tells another tenant's job from no job.
    expect(JSON.stringify(foreign.body).replaceAll('tenant-a.', '')).to.equal(
      JSON.stringify(unknown.body).replaceAll('tenant-b.', ''),
    );
    // And an existing one of A's answers B exactly as an unknown one.
    const existing = await request(api, 'GET', `/api/v1/jobs/${ids.job}`, undefined, b);
    const missing = await request(api, 'GET', `/api/v1/jobs/tenant-a.clustering-${uuid}`, undefined, b);
    expect(JSON.stringify(existing.body).replace(ids.job, 'ID')).to.equal(
      JSON.stringify(missing.body).replace(`tenant-a.clustering-${uuid}`, 'ID'),
    );

    // The service refuses before any Temporal call: a client that records every handle it is asked for.
    const asked: string[] = [];
    const client = {
      workflow: {
        getHandle: (id: string) => {
          asked.push(id);
          throw new Error('Temporal was asked');
        },
      },
    };
    const jobs = new JobService(client as never);
    for (const call of [
      () => jobs.describe('tenant-b', ids.job),
      () => jobs.completedResult('tenant-b', ids.job, 0),
      () => jobs.stop('tenant-b', ids.job),
      () => jobs.cancel('tenant-b', ids.job),
      () => jobs.describe('default', ids.job),
      () => jobs.describe('tenant-a', `clustering-${uuid}`),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(NotFoundError);
    }
    expect(asked).to.deep.equal([]);
  });
});
