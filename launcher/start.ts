import * as path from 'node:path';
import { Pool } from 'pg';
import { dataDir } from '../common/paths';
import { createPool } from '../db/pool';
import { loadDevices } from '../gpu/declared-inventory';
import { migrate } from '../migrations/migrator';
import { startEmbeddedPostgres, RunningPostgres } from './embedded-postgres';
import { waitForHttp } from './wait-for-http';
import { SupervisedProcess } from './supervised-process';
import { resolveTemporalCli } from './temporal-cli';
import { RunningTemporal, startTemporalDevServer } from './temporal-dev-server';

/** Default ports of `npm start` (each can be changed by its variable; README: Configuration). */
const DEFAULTS = {
  apiPort: 3000,
  postgresPort: 55432,
  temporalPort: 7233,
  temporalUiPort: 8233,
  workerMetricsPort: 9464,
};

function logger(name: string) {
  const prefix = `[${name}]`.padEnd(14);
  return (line: string) => console.log(`${prefix} ${line}`);
}

/**
 * `npm start`: the whole platform on one machine. Embedded PostgreSQL and the Temporal dev server unless
 * DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, then the API and a CPU worker pool as supervised child processes.
 * SIGINT / SIGTERM stop everything in reverse order; state lives under KILN_DATA_DIR (default .kiln/).
 */
const stack: { postgres?: RunningPostgres; temporal?: RunningTemporal; children: SupervisedProcess[] } = {
  children: [],
};
let stopping = false;

/** Stops what was started, in reverse order, and exits. */
async function shutdown(reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`[kiln] ${reason}: stopping the API, workers, Temporal and Postgres`);
  await Promise.allSettled(stack.children.map((c) => c.stop()));
  await stack.temporal?.stop().catch((err) => console.error('[kiln] temporal stop:', err));
  await stack.postgres?.stop().catch((err) => console.error('[kiln] postgres stop:', err));
  console.log('[kiln] stopped');
  process.exit(exitCode);
}

async function run(): Promise<void> {
  const startedAt = Date.now();
  const env = process.env;
  const state = dataDir(env);
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const port = Number(env.KILN_POSTGRES_PORT ?? DEFAULTS.postgresPort);
    console.log(`[kiln] starting embedded PostgreSQL on 127.0.0.1:${port} (data ${path.join(state, 'postgres')})`);
    stack.postgres = await startEmbeddedPostgres({
      dataDir: path.join(state, 'postgres'),
      port,
      log: logger('postgres'),
    });
    databaseUrl = stack.postgres.url;
  } else {
    console.log('[kiln] using DATABASE_URL; no embedded PostgreSQL');
  }
  const pool: Pool = createPool(databaseUrl, 1);
  const applied = await migrate(pool);
  await pool.end();
  console.log(`[kiln] schema ${applied.length ? `migrated (${applied.join(', ')})` : 'up to date'}`);

  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUi: string | undefined = env.KILN_TEMPORAL_UI_URL;
  if (!temporalAddress) {
    const cli = await resolveTemporalCli(env, (line) => console.log(line));
    const port = Number(env.KILN_TEMPORAL_PORT ?? DEFAULTS.temporalPort);
    const uiPort = Number(env.KILN_TEMPORAL_UI_PORT ?? DEFAULTS.temporalUiPort);
    console.log(`[kiln] starting Temporal dev server (${cli.source}: ${cli.path}) on 127.0.0.1:${port}, UI ${uiPort}`);
    stack.temporal = await startTemporalDevServer({
      cli: cli.path,
      dbFile: path.join(state, 'temporal.sqlite'),
      port,
      uiPort,
      log: logger('temporal'),
    });
    temporalAddress = stack.temporal.address;
    temporalUi = stack.temporal.uiUrl;
  } else {
    console.log(`[kiln] using TEMPORAL_ADDRESS=${temporalAddress}; no Temporal dev server`);
  }
  if (stopping) return;

  const apiPort = Number(env.PORT ?? DEFAULTS.apiPort);
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    PORT: String(apiPort),
    ...(temporalUi ? { KILN_TEMPORAL_UI_URL: temporalUi } : {}),
  };
  const dist = path.resolve(__dirname, '..');
  let workerReady: () => void = () => undefined;
  const workerUp = new Promise<void>((resolve) => (workerReady = resolve));
  const api = new SupervisedProcess({
    name: 'api',
    command: process.execPath,
    args: [path.join(dist, 'api', 'main.js')],
    env: childEnv,
    log: logger('api'),
  });
  // Each worker serves Prometheus metrics on its own port: the CPU worker on the base, GPU worker i on base + 1 + i.
  const metricsBase = Number(env.KILN_WORKER_METRICS_PORT ?? DEFAULTS.workerMetricsPort);
  const metricsEnv = (offset: number): NodeJS.ProcessEnv => ({
    KILN_WORKER_METRICS_PORT: metricsBase > 0 ? String(metricsBase + offset) : '0',
  });
  const worker = new SupervisedProcess({
    name: 'worker:cpu',
    command: process.execPath,
    args: [path.join(dist, 'workers', 'main.js'), '--pool', 'cpu'],
    env: { ...childEnv, ...metricsEnv(0) },
    log: logger('worker:cpu'),
    onLine: (line) => line.includes('[kiln] worker pool=') && workerReady(),
  });
  stack.children.push(api, worker);
  api.start();
  worker.start();
  // One GPU worker per device (discovered by nvidia-smi, or declared with KILN_DECLARED_GPUS), each pinned to it.
  const devices = await loadDevices({ env });
  for (const device of devices) {
    const gpuWorker = new SupervisedProcess({
      name: `worker:gpu${device.index}`,
      command: process.execPath,
      args: [path.join(dist, 'workers', 'main.js'), '--pool', 'gpu', '--device', String(device.index)],
      env: {
        ...childEnv,
        ...metricsEnv(1 + device.index),
        ...(device.source === 'nvidia-smi' ? { CUDA_VISIBLE_DEVICES: String(device.index) } : {}),
      },
      log: logger(`worker:gpu${device.index}`),
    });
    stack.children.push(gpuWorker);
    gpuWorker.start();
  }
  if (devices.length === 0)
    console.log('[kiln] no GPU found (nvidia-smi) and none declared (KILN_DECLARED_GPUS): CPU pool only');
  await Promise.all([waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 120_000), workerUp]);

  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log('');
  console.log(`[kiln] ready in ${seconds} s`);
  console.log(`[kiln]   API          http://127.0.0.1:${apiPort}  (GET /api/v1/algorithms, /api/v1/openapi.json)`);
  if (temporalUi) console.log(`[kiln]   Temporal UI  ${temporalUi}`);
  console.log(`[kiln]   Temporal     ${temporalAddress}`);
  console.log(`[kiln]   Postgres     ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  console.log('[kiln] Ctrl-C stops everything.');
}

run().catch((err) => {
  console.error('[kiln] start failed:', err instanceof Error ? err.message : err);
  void shutdown('start failed', 1);
});
