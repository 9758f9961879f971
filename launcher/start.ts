import * as path from 'node:path';
import { Pool } from 'pg';
import { KilnConfig, loadConfig } from '../common/config';
import { parseFlags } from '../common/flags';
import { DestinationStream, initLogging, Logger, resolveLogFormat, stdoutDestination } from '../common/logger';
import { redactUrl } from '../common/redact';
import { logFatal } from '../common/run-main';
import { createPool } from '../db/pool';
import { loadDevices } from '../gpu/declared-inventory';
import { migrate } from '../migrations/migrator';
import { childOutput } from './child-output';
import { startEmbeddedPostgres, RunningPostgres } from './embedded-postgres';
import { waitForHttp } from './wait-for-http';
import { SupervisedProcess } from './supervised-process';
import { cliSearch, resolveTemporalCli } from './temporal-cli';
import { RunningTemporal, startTemporalDevServer } from './temporal-dev-server';

/** Worker metrics ports under `npm start` when KILN_WORKER_METRICS_PORT is unset (README: Configuration). */
const DEFAULT_WORKER_METRICS_PORT = 9464;

/**
 * Temporal connection variables meant for an external cluster: with the embedded dev server the children must not
 * inherit them (an API key or client certificate would be offered to a local plaintext server).
 */
function isExternalTemporalSetting(name: string): boolean {
  return /^TEMPORAL_(API_KEY|TLS|TLS_.+|PROFILE|CONFIG_FILE|GRPC_META_.+)$/.test(name);
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
async function shutdown(log: Logger, reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info(`${reason}: stopping the API, workers, Temporal and Postgres`);
  await Promise.allSettled(stack.children.map((c) => c.stop()));
  await stack.temporal?.stop().catch((err: unknown) => log.error({ err }, 'temporal stop failed'));
  await stack.postgres?.stop().catch((err: unknown) => log.error({ err }, 'postgres stop failed'));
  log.info('stopped');
  process.exit(exitCode);
}

/** Makes the writer for one child's output lines (launcher/child-output.ts); `kilnLines: false` for Postgres and Temporal. */
type ShowChild = (name: string, kilnLines?: boolean) => (line: string) => void;

async function run(config: KilnConfig, log: Logger, show: ShowChild): Promise<void> {
  const startedAt = Date.now();
  const env = process.env;
  const state = config.launcher.dataDir;
  process.on('SIGINT', () => void shutdown(log, 'SIGINT', 0));
  process.on('SIGTERM', () => void shutdown(log, 'SIGTERM', 0));

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const port = config.launcher.postgresPort;
    log.info(`starting embedded PostgreSQL on 127.0.0.1:${port} (data ${path.join(state, 'postgres')})`);
    stack.postgres = await startEmbeddedPostgres({
      dataDir: path.join(state, 'postgres'),
      port,
      log: show('postgres', false),
    });
    databaseUrl = stack.postgres.url;
  } else {
    log.info({ databaseUrl }, 'using DATABASE_URL; no embedded PostgreSQL');
  }
  const pool: Pool = createPool(databaseUrl, 1, log);
  const applied = await migrate(pool);
  await pool.end();
  log.info(`schema ${applied.length ? `migrated (${applied.join(', ')})` : 'up to date'}`);

  const namespace = config.temporal.namespace;
  let temporalAddress = config.temporal.address;
  let temporalUi = config.api.temporalUiUrl;
  if (!config.temporal.addressFromEnv) {
    const cli = await resolveTemporalCli(cliSearch(config.launcher, env.PATH), (line) => log.info(line));
    const { temporalPort: port, temporalUiPort: uiPort } = config.launcher;
    log.info(`starting Temporal dev server (${cli.source}: ${cli.path}) on 127.0.0.1:${port}, UI ${uiPort}`);
    stack.temporal = await startTemporalDevServer({
      cli: cli.path,
      dbFile: path.join(state, 'temporal.sqlite'),
      port,
      uiPort,
      namespace,
      log: show('temporal', false),
    });
    temporalAddress = stack.temporal.address;
    temporalUi = stack.temporal.uiUrl;
  } else {
    log.info(`using TEMPORAL_ADDRESS=${temporalAddress}; no Temporal dev server`);
  }
  if (stopping) return;

  const apiPort = config.api.port;
  const inherited = Object.fromEntries(
    Object.entries(env).filter(([name]) => config.temporal.addressFromEnv || !isExternalTemporalSetting(name)),
  );
  const childEnv: NodeJS.ProcessEnv = {
    ...inherited,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    PORT: String(apiPort),
    // The launcher shows its children's lines (launcher/child-output.ts): it needs them as JSON.
    KILN_LOG_FORMAT: 'json',
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
    output: show('api'),
    log,
  });
  // Each worker serves Prometheus metrics on its own port: the CPU worker on the base, GPU worker i on base + 1 + i.
  const metricsBase = config.worker.metricsPort ?? DEFAULT_WORKER_METRICS_PORT;
  const metricsEnv = (offset: number): NodeJS.ProcessEnv => ({
    KILN_WORKER_METRICS_PORT: metricsBase > 0 ? String(metricsBase + offset) : '0',
  });
  const worker = new SupervisedProcess({
    name: 'worker:cpu',
    command: process.execPath,
    args: [path.join(dist, 'workers', 'main.js'), '--pool', 'cpu'],
    env: { ...childEnv, ...metricsEnv(0) },
    output: show('worker:cpu'),
    log,
    onMessage: (message) => (message as { kiln?: unknown } | null)?.kiln === 'ready' && workerReady(),
  });
  stack.children.push(api, worker);
  api.start();
  worker.start();
  // One GPU worker per device (discovered by nvidia-smi, or declared with KILN_DECLARED_GPUS), each pinned to it.
  const devices = await loadDevices({ declared: config.declaredGpus, log: (m) => log.warn(m) });
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
      output: show(`worker:gpu${device.index}`),
      log,
    });
    stack.children.push(gpuWorker);
    gpuWorker.start();
  }
  if (devices.length === 0) log.info('no GPU found (nvidia-smi) and none declared (KILN_DECLARED_GPUS): CPU pool only');
  await Promise.all([waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 120_000), workerUp]);

  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  log.info(
    { api: apiUrl, temporalUi, temporal: temporalAddress, namespace, postgres: redactUrl(databaseUrl) },
    `ready in ${seconds} s`,
  );
  log.info(`  API          ${apiUrl}  (GET /api/v1/algorithms, /api/v1/openapi.json)`);
  if (temporalUi) log.info(`  Temporal UI  ${temporalUi}`);
  log.info(`  Temporal     ${temporalAddress} (namespace ${namespace})`);
  log.info(`  Postgres     ${redactUrl(databaseUrl)}`);
  log.info('Ctrl-C stops everything.');
}

/** Loads the configuration and the logger, then runs; a failure is logged and stops whatever had started. */
function main(): void {
  try {
    const config = loadConfig(process.env);
    const format = resolveLogFormat(config.log.format);
    const out: DestinationStream = stdoutDestination();
    const launcherLog = initLogging({ level: config.log.level, format }, { component: 'launcher' }, out);
    parseFlags(process.argv.slice(2), {});
    const show: ShowChild = (name, kilnLines = true) => childOutput(name, { format, log: launcherLog, out, kilnLines });
    run(config, launcherLog, show).catch((err: unknown) => {
      logFatal(err, 'start failed');
      void shutdown(launcherLog, 'start failed', 1);
    });
  } catch (err) {
    logFatal(err, 'start failed');
    process.exit(1);
  }
}

main();
