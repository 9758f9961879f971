import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type Koa from 'koa';
import type { Pool } from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { createApp } from '../api/app';
import type { AccessGate } from '../api/auth/access';
import { createRateLimits } from '../api/auth/rate-limits';
import { createApiMetrics } from '../api/metrics';
import { JobEventHub } from '../api/services/job-event-hub';
import type { Principal } from '../common/auth/principal';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { BudgetSizes } from '../common/rate-limit-budgets';
import { findApiKeyForAuth, parseApiKey } from '../db/api-keys';
import { createPool } from '../db/pool';
import { startEmbeddedPostgres } from '../launcher/embedded-postgres';
import { freePort } from '../launcher/free-port';
import { migrate } from '../migrations/migrator';
import { createTestKey } from '../test/support/auth';

/**
 * What authentication and rate limiting cost a cheap read: p50/p95 of GET /api/v1/models (a page of 10 models) over
 * HTTP on loopback, from a keep-alive agent in this process at concurrency 1, against an embedded PostgreSQL:
 * - `auth`: the real app with a valid API key: the gate looks the key up (one query), checks its hash, and takes a
 *   point of the caller's `read` budget (one upsert into rate_limit_points);
 * - `baseline`: the same app, same pool, same request, whose `app.context.accessGate` only sets a fixed principal
 *   (no authentication, no rate limit).
 * Both take turns round by round (KILN_BENCH_ROUNDS, default 7; KILN_BENCH_REQUESTS per variant per round, default
 * 400, after a warm-up), so load from elsewhere on the machine hits them alike; the figures are the medians of the
 * rounds' p50 and p95, and ratioP50 = auth p50 / baseline p50. The read budget is set past what the bench sends, so
 * every request pays the upsert (a caller past its budget is refused from memory, which is cheaper).
 * `parts` times the two database steps alone, in process, sequentially (medians of KILN_BENCH_REQUESTS calls), and
 * the library's own limiter on the same pool (the same UNLOGGED table: no WAL flush per upsert) for comparison.
 *
 *   npm run bench:auth-cost
 *   KILN_BENCH_ROUNDS=5 KILN_BENCH_REQUESTS=200 KILN_BENCH_NOTE='what else ran' npm run bench:auth-cost
 */
const ROUNDS = Number(process.env.KILN_BENCH_ROUNDS ?? 7);
const REQUESTS = Number(process.env.KILN_BENCH_REQUESTS ?? 400);
const MODELS = 10;

/** Budgets no run reaches: every request consumes a point in Postgres (the cost measured). */
const UNREACHED = { points: 1_000_000_000, durationSeconds: 3600 };

const round = (v: number, digits = 2) => Number(v.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** One GET on a keep-alive agent; resolves with its latency in ms (rejects on anything but 200). */
function get(agent: http.Agent, port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { agent, host: '127.0.0.1', port, path: `/api/v1/models?limit=${MODELS}`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(new Error(`GET /api/v1/models: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
          resolve(performance.now() - t0);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function listen(app: Koa): Promise<{ port: number; close: () => Promise<void> }> {
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The API app over `pool` with Kiln's default configuration but `rateLimits` (no Temporal: the route needs none). */
function app(pool: Pool, rateLimits: BudgetSizes): { app: Koa; events: JobEventHub } {
  const api = loadConfig({}).api;
  const log = createLogger({ level: 'silent' });
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('the bench server has no Temporal');
      },
    },
  );
  const events = new JobEventHub(
    pool,
    { ending: () => Promise.resolve(undefined), waitForClose: () => Promise.resolve() },
    log,
  );
  return {
    events,
    app: createApp({
      pool,
      temporal: unused as never,
      jobs: unused as never,
      events,
      metrics: createApiMetrics(),
      limits: api.limits,
      bodyLimits: api.bodyLimits,
      telemetryLimits: api.telemetryLimits,
      localComputeMaxCells: api.localComputeMaxCells,
      maxSseClients: api.maxSseClients,
      namespace: 'default',
      gpuFallbackSeconds: api.gpuFallbackSeconds,
      browser: api.browser,
      rateLimits,
      log,
    }),
  };
}

async function timeCalls(n: number, call: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function run(): Promise<void> {
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-auth-'));
  fs.chmodSync(tmp, 0o755);
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  const pool = createPool(postgres.url, 10);
  const servers: Array<{ close: () => Promise<void> }> = [];
  const hubs: JobEventHub[] = [];
  try {
    await migrate(pool);
    for (let i = 0; i < MODELS; i++) {
      await pool.query(`INSERT INTO models (tenant_id, name, description) VALUES ('default', $1, 'bench')`, [
        `bench-model-${i}`,
      ]);
    }
    const key = await createTestKey(pool, { role: 'viewer', name: 'bench-auth-cost' });
    const budgets = { start: UNREACHED, predict: UNREACHED, read: UNREACHED, write: UNREACHED };

    const real = app(pool, budgets);
    const bare = app(pool, budgets);
    const fixed: Principal = { id: 'key:0000000000000000', tenantId: 'default', role: 'viewer', platformAdmin: false };
    const baselineGate: AccessGate = {
      authorize: (ctx) => {
        ctx.state.principal = fixed;
        return Promise.resolve();
      },
      forgetKey: () => undefined,
    };
    bare.app.context.accessGate = baselineGate;
    hubs.push(real.events, bare.events);
    const variants = [
      { name: 'auth', server: await listen(real.app) },
      { name: 'baseline', server: await listen(bare.app) },
    ];
    servers.push(...variants.map((v) => v.server));
    const headers = { authorization: `Bearer ${key}` };

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const rounds = new Map<string, Array<{ p50: number; p95: number }>>(variants.map((v) => [v.name, []]));
    for (const v of variants) for (let i = 0; i < 100; i++) await get(agent, v.server.port, headers);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so neither always follows the other's garbage.
      const order = r % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const ms: number[] = [];
        for (let i = 0; i < REQUESTS; i++) ms.push(await get(agent, v.server.port, headers));
        rounds.get(v.name)!.push({ p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) });
      }
    }
    agent.destroy();

    const summary = Object.fromEntries(
      variants.map((v) => {
        const rs = rounds.get(v.name)!;
        return [
          v.name,
          {
            p50Ms: round(median(rs.map((x) => x.p50)), 3),
            p95Ms: round(median(rs.map((x) => x.p95)), 3),
            perRound: rs.map((x) => ({ p50: round(x.p50, 3), p95: round(x.p95, 3) })),
          },
        ];
      }),
    ) as Record<string, { p50Ms: number; p95Ms: number }>;
    const auth = summary.auth!;
    const baseline = summary.baseline!;
    const perRoundRatio = rounds.get('auth')!.map((x, i) => x.p50 / rounds.get('baseline')![i]!.p50);

    // The two database steps alone, in process.
    const parsed = parseApiKey(key)!;
    const limits = createRateLimits({ pool, defaults: budgets });
    const principal: Principal = { ...fixed, id: `key:${parsed.keyId}-parts` };
    const keyLookupMs = await timeCalls(REQUESTS, () => findApiKeyForAuth(pool, parsed.keyId));
    const consumeMs = await timeCalls(REQUESTS, () => limits.consume(principal, 'read', '/bench'));
    const emptyQueryMs = await timeCalls(REQUESTS, () => pool.query('SELECT 1'));
    // The library's limiter used directly on the pool, for comparison with RateLimits.consume's overhead.
    const plain = new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: 'rate_limit_points',
      tableCreated: true,
      keyPrefix: 'bench-plain',
      points: UNREACHED.points,
      duration: UNREACHED.durationSeconds,
      clearExpiredByTimeout: false,
    });
    const plainConsumeMs = await timeCalls(REQUESTS, () => plain.consume(principal.id));

    const loadAfter = os.loadavg();
    console.log(
      JSON.stringify(
        {
          bench: 'auth-cost',
          date: new Date().toISOString(),
          machine: {
            cpus: os.cpus().length,
            cpuModel: os.cpus()[0]?.model,
            memoryGiB: round(os.totalmem() / 2 ** 30, 1),
            node: process.version,
            loadAverage: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
            ...(process.env.KILN_BENCH_NOTE ? { note: process.env.KILN_BENCH_NOTE } : {}),
          },
          request: `GET /api/v1/models?limit=${MODELS} (${MODELS} models), keep-alive, concurrency 1, in-process client`,
          rounds: ROUNDS,
          requestsPerRound: REQUESTS,
          auth,
          baseline,
          ratioP50: round(auth.p50Ms / baseline.p50Ms, 3),
          ratioP95: round(auth.p95Ms / baseline.p95Ms, 3),
          medianPerRoundRatioP50: round(median(perRoundRatio), 3),
          addedP50Ms: round(auth.p50Ms - baseline.p50Ms, 3),
          parts: {
            keyLookupP50Ms: round(keyLookupMs, 3),
            rateLimitConsumeP50Ms: round(consumeMs, 3),
            selectOneP50Ms: round(emptyQueryMs, 3),
            synchronousCommitConsumeP50Ms: round(plainConsumeMs, 3),
            what:
              'in process, sequential, medians: findApiKeyForAuth; RateLimits.consume (tenant overrides cached; ' +
              'its upsert goes to the UNLOGGED rate_limit_points); SELECT 1 on the same pool; the library limiter used ' +
              'directly on the same pool, for comparison',
          },
          baselineName:
            'the same app and pool with app.context.accessGate replaced by one that only sets a fixed principal',
        },
        null,
        2,
      ),
    );
  } finally {
    for (const s of servers) await s.close();
    for (const h of hubs) await h.close();
    await pool.end();
    await postgres.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

run().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
