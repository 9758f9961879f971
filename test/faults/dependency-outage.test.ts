import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, ServiceError } from '@temporalio/client';
import { expect } from 'chai';
import type { Pool } from 'pg';
import { postgresUnavailable } from '../../db/unavailable';
import { temporalUnavailable } from '../../api/services/temporal-unavailable';
import { apiConnectionOptions } from '../../api/temporal-connection';
import { loadConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { createPool } from '../../db/pool';
import { freePort } from '../../launcher/free-port';
import { RunningPostgres, startEmbeddedPostgres } from '../../launcher/embedded-postgres';
import { migrate } from '../../migrations/migrator';
import { request, startTestApi, TestApi, withAuth } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/**
 * Fault class: a dependency outage made routes slow or wrong. With Temporal down, job routes answered 500 `internal`
 * after 18-21 s (the SDK retried without a deadline); with Postgres stopped (SIGSTOP), database routes hung for the
 * whole stop. Now every route answers 503 `dependency_unavailable` naming the dependency within a few seconds, with
 * the API's default deadlines (KILN_TEMPORAL_RPC_TIMEOUT_MS, KILN_PG_CONNECT_TIMEOUT_MS, KILN_PG_QUERY_TIMEOUT_MS).
 */

/** The most a route may take to answer 503 with the default deadlines (query 5 s, connect 2 s, Temporal 5 s). */
const ANSWER_WITHIN_MS = 9_000;
const silent = createLogger({ level: 'silent' });

interface Timed {
  status: number;
  body: any;
  ms: number;
  route: string;
}

/** One request with its duration; gives up (status 0) after 40 s, so a hanging route fails the test instead of it. */
async function timed(
  api: TestApi,
  method: string,
  url: string,
  body?: unknown,
  type = 'application/json',
): Promise<Timed> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${api.baseUrl}${url}`, {
      method,
      headers: withAuth(api, body !== undefined ? { 'content-type': type } : {}),
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(40_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, ms: Date.now() - t0, route: `${method} ${url}` };
  } catch (err) {
    return { status: 0, body: String(err), ms: Date.now() - t0, route: `${method} ${url}` };
  }
}

function expect503(results: Timed[], dependency: 'postgres' | 'temporal'): void {
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`      ${results.length} routes, ${dependency} down: slowest ${slowest.route} ${slowest.ms} ms`);
  const wrong = results.filter(
    (r) =>
      r.status !== 503 ||
      r.body?.error?.code !== 'dependency_unavailable' ||
      r.body?.error?.dependency !== dependency ||
      r.ms > ANSWER_WITHIN_MS,
  );
  expect(
    wrong.map((r) => `${r.route}: ${r.status} after ${r.ms} ms ${JSON.stringify(r.body).slice(0, 160)}`),
    `every route answers 503 naming ${dependency} within ${ANSWER_WITHIN_MS} ms`,
  ).to.deep.equal([]);
}

/** The postmaster (postmaster.pid's first line) and every process it started (its backends and helpers). */
function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

describe('faults: a dependency outage answers 503 fast (item 9)', function () {
  this.timeout(180_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
  });

  describe('the mapping of driver errors', () => {
    it('recognises node-postgres errors of a server that is down or too slow, and nothing else', () => {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5'), { code: 'ECONNREFUSED' });
      for (const err of [
        new Error('Query read timeout'),
        new Error('timeout exceeded when trying to connect'),
        new Error('Connection terminated due to connection timeout'),
        refused,
        new AggregateError([refused, refused], ''),
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
        Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      ]) {
        expect(postgresUnavailable(err), err.message).to.have.property('dependency', 'postgres');
      }
      expect(postgresUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).to.equal(undefined);
      expect(postgresUnavailable(new Error('boom'))).to.equal(undefined);
    });

    it('recognises Temporal calls that got no answer (UNAVAILABLE, DEADLINE_EXCEEDED), wrapped or not', () => {
      const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
      const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 });
      expect(temporalUnavailable(unavailable)).to.have.property('dependency', 'temporal');
      expect(temporalUnavailable(new ServiceError('Failed to start Workflow', { cause: deadline }))).to.have.property(
        'dependency',
        'temporal',
      );
      expect(temporalUnavailable(Object.assign(new Error('5 NOT_FOUND'), { code: 5 }))).to.equal(undefined);
    });
  });

  describe('Postgres stopped (SIGSTOP)', () => {
    let tmpDir: string;
    let dataDir: string;
    let postgres: RunningPostgres | undefined;
    let pool: Pool | undefined;
    let api: TestApi | undefined;
    let datasetId: string;

    before(async function () {
      this.timeout(120_000);
      tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-outage-'));
      fs.chmodSync(tmpDir, 0o755);
      dataDir = path.join(tmpDir, 'postgres');
      postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
      const migrationPool = createPool(postgres.url, 1, silent);
      await migrate(migrationPool);
      await migrationPool.end();
      // The API's pool, with the API's default deadlines (api/main.ts does the same from the configuration).
      const { timeouts } = loadConfig({}).api;
      pool = createPool(postgres.url, 10, silent, {
        connectMs: timeouts.postgresConnectMs,
        queryMs: timeouts.postgresQueryMs,
      });
      api = await startTestApi({ pool, env: stack.env }, {}, {}, { log: silent });
      const upload = await request(api, 'POST', '/api/v1/datasets', {
        name: 'outage',
        data: [
          [1, 2],
          [2, 4],
          [3, 7],
        ],
      });
      expect(upload.status).to.equal(201);
      datasetId = upload.body.id;
    });
    after(async () => {
      await api?.close();
      await pool?.end().catch(() => undefined);
      await postgres?.stop().catch(() => undefined);
      if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    });

    it('every database route answers 503 naming postgres within seconds, and recovers after SIGCONT', async () => {
      // Idle pooled connections exist (queries on them get no answer) and new ones are needed (they never connect).
      await Promise.all(Array.from({ length: 4 }, () => request(api!, 'GET', '/api/v1/datasets')));
      const pids = postgresProcesses(dataDir);
      expect(pids.length).to.be.greaterThan(1);
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      let results: Timed[];
      try {
        results = await Promise.all([
          timed(api!, 'GET', '/api/v1/datasets'),
          timed(api!, 'GET', `/api/v1/datasets/${datasetId}`),
          timed(api!, 'POST', '/api/v1/datasets', { name: 'during', data: [[4], [5]] }),
          timed(api!, 'POST', '/api/v1/datasets?name=csv', 'a,b\n1,2\n', 'text/csv'),
          timed(api!, 'GET', '/api/v1/models'),
          timed(api!, 'POST', '/api/v1/models', { name: 'outage-model' }),
          timed(api!, 'GET', '/api/v1/models/outage-model/versions'),
          timed(api!, 'PATCH', '/api/v1/models/outage-model', { description: 'x' }),
          timed(api!, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId }),
          timed(api!, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: [[1], [2]] }),
          timed(api!, 'POST', '/api/v1/training', {
            datasetId,
            target: 'x1',
            model: { name: 'outage-mlp' },
            spec: { task: 'regression', layers: [{ units: 2, activation: 'relu' }] },
            training: { epochs: 1, batchSize: 1, learningRate: 0.1, validationSplit: 0 },
          }),
          timed(api!, 'POST', '/api/v1/models/outage-model/predict', { inputs: [[1]] }),
          timed(api!, 'POST', '/api/v1/models/outage-model/batch-predict', { datasetId }),
          timed(api!, 'POST', '/api/v1/pipelines/validation', { datasetId }),
          timed(api!, 'GET', '/api/v1/gpus'),
          timed(api!, 'GET', '/api/v1/resources/status'),
          timed(api!, 'GET', '/api/gpu/status'),
          timed(api!, 'GET', `/api/v1/artifacts/${datasetId}`),
        ]);
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      }
      expect503(results, 'postgres');
      expect(results[0].body.error.message).to.match(/^PostgreSQL is unavailable: .*; retry later$/);
      const after = await timed(api!, 'GET', `/api/v1/datasets/${datasetId}`);
      expect([after.status, after.body.id]).to.deep.equal([200, datasetId]);
    });
  });

  describe('Temporal unreachable (its port closed)', () => {
    let api: TestApi | undefined;
    let connection: Connection | undefined;
    let datasetId: string;

    before(async () => {
      const address = `127.0.0.1:${await freePort()}`; // nothing listens there
      // The API's connection, with the API's default deadline (api/main.ts connects with the same options).
      connection = Connection.lazy(apiConnectionOptions({ address }, loadConfig({}).api.timeouts.temporalRpcMs));
      const client = new Client({ connection, namespace: 'default' });
      api = await startTestApi({ pool: stack.pool, env: { client, namespace: 'default' } }, {}, {}, { log: silent });
      const upload = await request(api, 'POST', '/api/v1/datasets', {
        name: 'no-temporal',
        data: [
          [1, 2],
          [2, 4],
          [3, 7],
        ],
      });
      expect(upload.status).to.be.oneOf([200, 201]);
      datasetId = upload.body.id;
    });
    after(async () => {
      await api?.close();
      // A call no request waits for any more (a /ready probe past its own timeout) may still retry until its
      // deadline; the channel closes after that.
      await new Promise((resolve) => setTimeout(resolve, loadConfig({}).api.timeouts.temporalRpcMs + 500));
      await connection?.close().catch(() => undefined);
    });

    it('every job route answers 503 naming temporal within seconds (was 500 after 18-21 s)', async () => {
      const job = 'clustering-00000000-0000-4000-8000-000000000009';
      const pipeline = 'pipeline-full-00000000-0000-4000-8000-000000000009';
      const results = await Promise.all([
        timed(api!, 'GET', '/api/v1/jobs'),
        timed(api!, 'GET', `/api/v1/jobs/${job}`),
        timed(api!, 'GET', `/api/v1/jobs/${job}/result?wait=30`),
        timed(api!, 'POST', `/api/v1/jobs/${job}/cancel`),
        timed(api!, 'POST', `/api/v1/jobs/${job}/stop`),
        timed(api!, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId }),
        timed(api!, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: [[1], [2], [9]] }),
        timed(api!, 'POST', '/api/cluster/kmeans?wait=1', { data: [[1], [2], [9]], params: { k: 2 } }),
        timed(api!, 'POST', '/api/v1/training', {
          datasetId,
          target: 'x1',
          model: { name: 'no-temporal-mlp' },
          spec: { task: 'regression', layers: [{ units: 2, activation: 'relu' }] },
          training: { epochs: 1, batchSize: 1, learningRate: 0.1, validationSplit: 0 },
        }),
        timed(api!, 'POST', '/api/v1/pipelines/validation', { datasetId }),
        timed(api!, 'GET', `/api/v1/pipelines/${pipeline}`),
        timed(api!, 'GET', `/api/v1/pipelines/${pipeline}/report`),
        timed(api!, 'POST', `/api/v1/pipelines/${pipeline}/decision`, { decision: 'approve' }),
      ]);
      expect503(results, 'temporal');
      // The resource status still answers from Postgres, its queue backlogs unknown (null), as quickly.
      const status = await timed(api!, 'GET', '/api/v1/resources/status');
      expect(status.status, JSON.stringify(status.body)).to.equal(200);
      expect(status.ms).to.be.below(ANSWER_WITHIN_MS);
    });
  });
});
