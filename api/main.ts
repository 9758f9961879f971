import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { exitWithParent } from '../common/exit-with-parent';
import { loadConfig, requireDatabaseUrl } from '../common/config';
import { CommandHelp, parseFlags } from '../common/flags';
import { listenOn } from '../common/listen';
import { initLogging } from '../common/logger';
import { runMain } from '../common/run-main';
import { createPool } from '../db/pool';
import { migrate } from '../migrations/migrator';
import { applyComputeConfig } from '../ml/compute-config';
import { createApp } from './app';
import { createSsoVerifier } from './auth/sso';
import { ensureBootstrapKey } from './auth/bootstrap';
import { apiConnectionOptions } from './temporal-connection';
import { createApiMetrics } from './metrics';
import { JobEventHub } from './services/job-event-hub';
import { JobService } from './services/jobs';
import { startPreviewSweeper } from './services/schedule-fire-times';

/** What `npm run api -- --help` says. */
const API_COMMAND: CommandHelp = {
  usage: 'npm run api --',
  summary:
    'The Kiln REST API on HOST:PORT (default 127.0.0.1:3000). It needs DATABASE_URL and a Temporal server ' +
    '(TEMPORAL_ADDRESS, default 127.0.0.1:7233).',
};

/**
 * `npm run api`: the REST API against DATABASE_URL and Temporal (README: Configuration). It takes no flags but
 * `--help`. A port in use or a host that is not this machine's stops it with one line naming PORT or HOST, and exit
 * status 78 (common/exit-codes.ts).
 */
async function run(env: NodeJS.ProcessEnv, argv: string[]): Promise<void> {
  exitWithParent();
  parseFlags(argv, {}, { command: API_COMMAND });
  const config = loadConfig(env);
  const log = initLogging(config.log, { component: 'api' });
  const databaseUrl = requireDatabaseUrl(config);
  applyComputeConfig(config.compute);
  // Migrations may take as long as they need; requests then run under the API's deadlines (503 past them).
  const migrationPool = createPool(databaseUrl, 1, log);
  const applied = await migrate(migrationPool).finally(() => migrationPool.end());
  if (applied.length) log.info({ migrations: applied }, `applied migrations ${applied.join(', ')}`);
  const { timeouts } = config.api;
  const pool = createPool(databaseUrl, 10, log, {
    connectMs: timeouts.postgresConnectMs,
    queryMs: timeouts.postgresQueryMs,
  });
  // Before listening: by the time the API answers, a fresh installation's admin key is in its file.
  await ensureBootstrapKey(pool, config.launcher.dataDir, log);
  const connection = await Connection.connect(apiConnectionOptions(config.temporal.connection, timeouts.temporalRpcMs));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const jobs = new JobService(temporal);
  const events = new JobEventHub(pool, jobs, log);
  const app = createApp({
    pool,
    temporal,
    jobs,
    events,
    metrics: createApiMetrics(),
    limits: config.api.limits,
    bodyLimits: config.api.bodyLimits,
    telemetryLimits: config.api.telemetryLimits,
    ...(config.api.temporalUiUrl !== undefined ? { temporalUiUrl: config.api.temporalUiUrl } : {}),
    namespace: config.temporal.namespace,
    gpuFallbackSeconds: config.api.gpuFallbackSeconds,
    localComputeMaxCells: config.api.localComputeMaxCells,
    maxSseClients: config.api.maxSseClients,
    maxRunningJobsPerTenant: config.api.maxRunningJobsPerTenant,
    log,
    browser: config.api.browser,
    predictBatching: config.api.predictBatching,
    ...(config.api.sso ? { sso: createSsoVerifier({ pool, config: config.api.sso, log }) } : {}),
    rateLimits: config.api.rateLimits,
    proxy: config.api.proxy,
  });
  const { host, port } = config.api;
  // Koa's handler settles its own errors (its error handler answers and logs them): nothing is left to await here.
  const handle = app.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await listenOn(server, { port, host, portVariable: 'PORT', hostVariable: 'HOST' }, (err) =>
    log.error({ err }, `api server error: ${err.message}`),
  );
  // PORT=0 lets the OS choose: say the port it chose.
  const listening = (server.address() as AddressInfo).port;
  log.info(
    { url: `http://${host}:${listening}`, temporal: config.temporal.address, namespace: config.temporal.namespace },
    `api listening on http://${host}:${listening} pid=${process.pid}`,
  );

  // Previews a process killed mid-answer left behind (inert, but listed by the Temporal UI): swept now and every
  // minute, so a process restarted moments after such a kill still removes them once they are a minute old.
  const sweeper = startPreviewSweeper({ temporal, namespace: config.temporal.namespace, log });

  const shutdown = () => {
    sweeper.stop();
    // Event streams end first (their clients reconnect elsewhere), so that the server can close.
    void events.close();
    server.close(() => {
      void Promise.allSettled([connection.close(), pool.end()]).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

runMain(() => run(process.env, process.argv.slice(2)));
