import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type Koa from 'koa';
import type { Pool } from 'pg';
import { createApp } from '../api/app';
import type { AccessGate } from '../api/auth/access';
import { assertAllowed, createAccessGate } from '../api/auth/gate';
import { createPostgresLimiter } from '../api/auth/postgres-limiter';
import { createRateLimits } from '../api/auth/rate-limits';
import { SESSION_COOKIE } from '../api/auth/session-cookie';
import { openSession } from '../api/auth/session-store';
import { createSsoVerifier, SsoVerifier } from '../api/auth/sso';
import { createApiMetrics } from '../api/metrics';
import { JobEventHub } from '../api/services/job-event-hub';
import type { Principal } from '../common/auth/principal';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { BudgetSizes } from '../common/rate-limit-budgets';
import { findApiKeyForAuth, parseApiKey } from '../db/api-keys';
import { createPool } from '../db/pool';
import { putTenantMember } from '../db/tenant-members';
import { startEmbeddedPostgres } from '../launcher/embedded-postgres';
import { freePort } from '../launcher/free-port';
import { migrate } from '../migrations/migrator';
import { createTestKey } from '../test/support/auth';

/**
 * What authentication and rate limiting cost a cheap read (README: Benchmarks): p50/p95 of GET /api/v1/models (a page
 * of 10 models) over HTTP on loopback, from a keep-alive agent in this process at concurrency 1, against an embedded
 * PostgreSQL, through one app per variant on the same pool:
 * - `no-auth` (the baseline): an access gate that only sets a fixed principal and checks its role (no credentials
 *   read, no rate limit: what the anonymous fallback cost before issue 12);
 * - `key-cached`: the real gate with a valid API key, its verified row cached KEY_CACHE_MS (the default): the secret's
 *   hash compared, a point of the caller's `read` budget taken (one upsert into rate_limit_points);
 * - `key-uncached`: the same, reading the key's row on every request (keyCacheMs 0: one more query);
 * - `session-cookie`: the console's session cookie of a key-backed session (the session's row read on every request,
 *   the key's row cached), then the rate-limit point;
 * - `sso-token`: an RS256 SSO token (JWT) verified against a JWKS served on loopback (fetched once, then cached by
 *   jose), the subject's membership read on every request, then the rate-limit point.
 * All take turns round by round, each round starting with the next variant (KILN_BENCH_ROUNDS, default 7;
 * KILN_BENCH_REQUESTS per variant per round, default 400, after a warm-up), so load from elsewhere on the machine hits
 * them alike; each variant's figures are the medians of its rounds' p50 and p95, and its ratios are against `no-auth`
 * of the same run (ratioP50, ratioP95; medianPerRoundRatioP50 pairs each round with the baseline's of that round).
 * The budgets are set past what the bench sends, so every request pays the upsert (a caller past its budget is refused
 * from memory, which is cheaper).
 * `parts` times the database steps alone, in process, sequentially (medians of KILN_BENCH_REQUESTS calls), and the
 * library's own limiter on the same pool (the same UNLOGGED table) for comparison with RateLimits.consume.
 * (This bench took in bench/auth-gate.ts, which measured no-auth, key-cached and key-uncached alone.)
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

/** The API app over `pool` with Kiln's default configuration but `rateLimits` and `sso` (no Temporal: the route needs none). */
function app(pool: Pool, rateLimits: BudgetSizes, sso?: SsoVerifier): { app: Koa; events: JobEventHub } {
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
      ...(sso ? { sso } : {}),
      log,
    }),
  };
}

/**
 * An identity provider on loopback: its JWKS (one RS256 key) served over HTTP, and a token for `sub` it signed, valid
 * for an hour.
 */
async function identityProvider(
  issuer: string,
  audience: string,
  sub: string,
): Promise<{ jwksUrl: string; token: string; close: () => Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const body = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' }],
  });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    token,
    close: () => new Promise((resolve) => server.close(() => resolve())),
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

const BASELINE = 'no-auth';

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
  const log = createLogger({ level: 'silent' });
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
    const keyId = parseApiKey(key)!.keyId;
    const keyPrincipal: Principal = {
      id: `key:${keyId}`,
      tenantId: 'default',
      role: 'viewer',
      platformAdmin: false,
      keyId,
    };
    const session = await openSession(pool, keyPrincipal);
    const issuer = 'https://idp.kiln.bench/';
    const audience = 'kiln-api';
    const idp = await identityProvider(issuer, audience, 'bench-user');
    servers.push(idp);
    await putTenantMember(pool, 'default', `${issuer}|bench-user`, 'viewer', 'bench');
    const sso = createSsoVerifier({
      pool,
      config: { jwksUrl: idp.jwksUrl, issuer, audience, algorithms: ['RS256'] },
      log,
    });
    const budgets = { start: UNREACHED, predict: UNREACHED, read: UNREACHED, write: UNREACHED };

    const fixed: Principal = { id: 'key:0000000000000000', tenantId: 'default', role: 'viewer', platformAdmin: false };
    const noAuth: AccessGate = {
      authorize: (ctx, declaration) => {
        ctx.state.principal = fixed;
        assertAllowed(fixed, declaration.access);
        return Promise.resolve();
      },
      reauthorize: (_ctx, access) => {
        assertAllowed(fixed, access);
        return Promise.resolve(fixed);
      },
      forgetKey: () => undefined,
    };
    const keyHeaders = { authorization: `Bearer ${key}` };
    const specs: Array<{ name: string; gate?: AccessGate; headers: Record<string, string> }> = [
      { name: BASELINE, gate: noAuth, headers: keyHeaders },
      { name: 'key-cached', headers: keyHeaders },
      {
        name: 'key-uncached',
        gate: createAccessGate({ pool, log, rateLimits: budgets, keyCacheMs: 0 }),
        headers: keyHeaders,
      },
      { name: 'session-cookie', headers: { cookie: `${SESSION_COOKIE}=${session.sessionId}` } },
      { name: 'sso-token', headers: { authorization: `Bearer ${idp.token}` } },
    ];
    const variants: Array<{ name: string; port: number; headers: Record<string, string> }> = [];
    for (const spec of specs) {
      // The real gate (createApp's own) unless the variant replaces it.
      const built = app(pool, budgets, sso);
      if (spec.gate) built.app.context.accessGate = spec.gate;
      hubs.push(built.events);
      const server = await listen(built.app);
      servers.push(server);
      variants.push({ name: spec.name, port: server.port, headers: spec.headers });
    }

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const rounds = new Map<string, Array<{ p50: number; p95: number }>>(variants.map((v) => [v.name, []]));
    for (const v of variants) for (let i = 0; i < 100; i++) await get(agent, v.port, v.headers);
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with the next variant, so that none always follows the same other's garbage.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        const ms: number[] = [];
        for (let i = 0; i < REQUESTS; i++) ms.push(await get(agent, v.port, v.headers));
        rounds.get(v.name)!.push({ p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) });
      }
    }
    agent.destroy();

    const baseRounds = rounds.get(BASELINE)!;
    const baseP50 = median(baseRounds.map((x) => x.p50));
    const baseP95 = median(baseRounds.map((x) => x.p95));
    const summary = Object.fromEntries(
      variants.map((v) => {
        const rs = rounds.get(v.name)!;
        const p50 = median(rs.map((x) => x.p50));
        const p95 = median(rs.map((x) => x.p95));
        return [
          v.name,
          {
            p50Ms: round(p50, 3),
            p95Ms: round(p95, 3),
            ratioP50: round(p50 / baseP50, 3),
            ratioP95: round(p95 / baseP95, 3),
            medianPerRoundRatioP50: round(median(rs.map((x, i) => x.p50 / baseRounds[i]!.p50)), 3),
            addedP50Ms: round(p50 - baseP50, 3),
            perRound: rs.map((x) => ({ p50: round(x.p50, 3), p95: round(x.p95, 3) })),
          },
        ];
      }),
    );

    // The database steps alone, in process.
    const limits = createRateLimits({ pool, defaults: budgets });
    const principal: Principal = { ...fixed, id: `key:${keyId}-parts` };
    const keyLookupMs = await timeCalls(REQUESTS, () => findApiKeyForAuth(pool, keyId));
    const consumeMs = await timeCalls(REQUESTS, () => limits.consume(principal, 'read', '/bench'));
    const emptyQueryMs = await timeCalls(REQUESTS, () => pool.query('SELECT 1'));
    // The library's limiter used directly on the pool, for comparison with RateLimits.consume's overhead.
    const plain = createPostgresLimiter({ pool, keyPrefix: 'bench-plain', size: UNREACHED, sweepExpired: false });
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
          baseline: BASELINE,
          baselineWhat:
            'the same app and pool with app.context.accessGate replaced by one that only sets a fixed principal ' +
            'and checks its role',
          variants: summary,
          parts: {
            keyLookupP50Ms: round(keyLookupMs, 3),
            rateLimitConsumeP50Ms: round(consumeMs, 3),
            selectOneP50Ms: round(emptyQueryMs, 3),
            libraryLimiterConsumeP50Ms: round(plainConsumeMs, 3),
            what:
              'in process, sequential, medians: findApiKeyForAuth; RateLimits.consume (tenant overrides cached; ' +
              'its upsert goes to the UNLOGGED rate_limit_points); SELECT 1 on the same pool; the library limiter used ' +
              'directly on the same pool, for comparison',
          },
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
