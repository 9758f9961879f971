import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AccessGate } from '../api/auth/access';
import { assertAllowed, createAccessGate } from '../api/auth/gate';
import { createApp } from '../api/app';
import { createApiMetrics } from '../api/metrics';
import { JobEventHub } from '../api/services/job-event-hub';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { createPool } from '../db/pool';
import { startEmbeddedPostgres } from '../launcher/embedded-postgres';
import { freePort } from '../launcher/free-port';
import { migrate } from '../migrations/migrator';
import { createTestKey } from '../test/support/auth';

/**
 * What authentication costs a request (README: Authentication): p50 and p95 of GET /api/v1/models with an API key,
 * sequential requests on one keep-alive connection, through three apps on one embedded Postgres:
 * - `no-auth` (baseline): a gate that takes every request as an admin without looking at it (what the anonymous
 *   fallback cost before issue 12);
 * - `key-cached`: the real gate, verified key rows cached KEY_CACHE_MS (the default);
 * - `key-uncached`: the real gate reading the key's row on every request (keyCacheMs 0).
 * Rounds alternate between the three so that load from other processes hits them alike.
 *
 *   npm run build:test && node dist/bench/auth-gate.js
 *   KILN_BENCH_ROUNDS=10 KILN_BENCH_REQUESTS=300 node dist/bench/auth-gate.js
 */
const ROUNDS = Number(process.env.KILN_BENCH_ROUNDS ?? 6);
const REQUESTS = Number(process.env.KILN_BENCH_REQUESTS ?? 300);

function get(agent: http.Agent, port: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(
      { agent, host: '127.0.0.1', port, path: '/api/v1/models', headers: { authorization: `Bearer ${key}` } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-auth-bench-'));
  fs.chmodSync(tmp, 0o755);
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  const log = createLogger({ level: 'silent' });
  const pool = createPool(postgres.url, 10, log);
  const servers: http.Server[] = [];
  try {
    await migrate(pool);
    const key = await createTestKey(pool, { role: 'viewer' });
    const api = loadConfig({}).api;
    const noAuth: AccessGate = {
      authorize: (ctx, declaration) => {
        const principal = { id: 'bench', tenantId: 'default', role: 'admin' as const, platformAdmin: true };
        ctx.state.principal = principal;
        assertAllowed(principal, declaration.access);
        return Promise.resolve();
      },
      forgetKey: () => undefined,
    };
    const variants: Array<[string, AccessGate]> = [
      ['no-auth', noAuth],
      ['key-cached', createAccessGate({ pool, log })],
      ['key-uncached', createAccessGate({ pool, log, keyCacheMs: 0 })],
    ];
    const unused = new Proxy({}, { get: () => Promise.reject(new Error('no Temporal in this bench')) });
    const ports: number[] = [];
    for (const [, gate] of variants) {
      const app = createApp({
        pool,
        temporal: unused as never,
        jobs: unused as never,
        events: new JobEventHub(pool, unused as never, log),
        metrics: createApiMetrics(),
        limits: api.limits,
        bodyLimits: api.bodyLimits,
        telemetryLimits: api.telemetryLimits,
        namespace: 'default',
        gpuFallbackSeconds: api.gpuFallbackSeconds,
        localComputeMaxCells: api.localComputeMaxCells,
        maxSseClients: api.maxSseClients,
        browser: api.browser,
        log,
      });
      app.context.accessGate = gate;
      const server = await new Promise<http.Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      servers.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const latencies: number[][] = variants.map(() => []);
    for (let i = 0; i < 50; i++) for (const [v, port] of ports.entries()) await get(agents[v]!, port, key); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const [v, port] of ports.entries()) {
        for (let i = 0; i < REQUESTS; i++) latencies[v]!.push(await get(agents[v]!, port, key));
      }
    }
    const figures = variants.map(([name], v) => {
      const sorted = [...latencies[v]!].sort((a, b) => a - b);
      return { name, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
    });
    const base = figures[0]!;
    const result = {
      bench: 'auth-gate',
      at: new Date().toISOString(),
      load: os.loadavg().map((l) => Number(l.toFixed(2))),
      requests: ROUNDS * REQUESTS,
      variants: figures.map((f) => ({
        name: f.name,
        p50Ms: Number(f.p50.toFixed(3)),
        p95Ms: Number(f.p95.toFixed(3)),
        p50Ratio: Number((f.p50 / base.p50).toFixed(3)),
      })),
    };
    console.log(JSON.stringify(result, null, 2));
    for (const agent of agents) agent.destroy();
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await pool.end();
    await postgres.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
