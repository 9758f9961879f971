import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { Pool } from 'pg';
import { KilnConfig, loadConfig } from '../common/config';
import { parseFlags } from '../common/flags';
import { DestinationStream, initLogging, Logger, resolveLogFormat, stdoutDestination } from '../common/logger';
import { redactUrl } from '../common/redact';
import { EXIT_CONFIG } from '../common/exit-codes';
import { exitCodeFor, logFatal } from '../common/run-main';
import { createPool } from '../db/pool';
import { loadDevices } from '../gpu/declared-inventory';
import { migrate } from '../migrations/migrator';
import { childOutput } from './child-output';
import { LAUNCHER_UMASK, prepareDataDir } from './data-dir';
import { initEmbeddedPostgres } from './embedded-postgres';
import { LauncherPids } from './launcher-pids';
import { assertPortsFree, PortsUnavailableError } from './port-check';
import { readyMessage, spawnNodeChild } from './node-child';
import { watchParent } from './parent-watch';
import { StopPolicy } from './stop-child';
import { NotRestartedError, SupervisedOptions, SupervisedProcess } from './supervised-process';
import { cliSearch, resolveTemporalCli } from './temporal-cli';
import { temporalDevServer } from './temporal-dev-server';
import { waitForHttp } from './wait-for-http';

/** Worker metrics ports under `npm start` when KILN_WORKER_METRICS_PORT is unset (README: Configuration). */
const DEFAULT_WORKER_METRICS_PORT = 9464;
const LOOPBACK = '127.0.0.1';

/** The API stops accepting, finishes what it serves and exits within 5 s by itself (api/main.ts). */
const API_STOP: StopPolicy = { signal: 'SIGTERM', graceMs: 10_000 };
/** Workers drain their activities for up to 10 s (shutdownGraceTime, workers/create-worker.ts); then SIGKILL. */
const WORKER_STOP: StopPolicy = { signal: 'SIGTERM', graceMs: 15_000 };

/** Stop order in the pid file (launcher/launcher-pids.ts): clients first, Postgres last. */
const TIER = { app: 0, temporal: 1, postgres: 2 } as const;

/** Signals that stop the launcher: Ctrl-C, a process manager's or container runtime's stop, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Temporal connection variables meant for an external cluster: with the embedded dev server the children must not
 * inherit them (an API key or client certificate would be offered to a local plaintext server).
 */
function isExternalTemporalSetting(name: string): boolean {
  return /^TEMPORAL_(API_KEY|TLS|TLS_.+|PROFILE|CONFIG_FILE|GRPC_META_.+)$/.test(name);
}

/**
 * `npm start`: the whole platform on one machine. Embedded PostgreSQL and the Temporal dev server unless
 * DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, then the API and a worker per pool, every one a supervised child
 * in its own process group, restarted when it dies. SIGINT, SIGTERM, SIGHUP or the death of the parent (npm) stop
 * everything in order: the API, the workers (drained), Temporal, Postgres last. State lives under KILN_DATA_DIR
 * (default .kiln/), with launcher.pids naming the running children, so that a launcher that was killed outright
 * leaves nothing behind that the next one does not stop.
 */
const stack: {
  pids?: LauncherPids;
  postgres?: SupervisedProcess;
  temporal?: SupervisedProcess;
  api?: SupervisedProcess;
  workers: SupervisedProcess[];
} = { workers: [] };
let stopping = false;

/** Stops what was started, in order (each step logged), removes the pid file and exits. */
async function shutdown(log: Logger, reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info(`${reason}: stopping the API, workers, Temporal and Postgres`);
  // None is restarted from now on, even one that exits before its turn (its exit is then logged at info, not warn).
  for (const child of [stack.api, ...stack.workers, stack.temporal, stack.postgres]) child?.stopRestarting();
  const step = async (what: string, stop: Promise<unknown>) => {
    await stop.catch((err: unknown) => log.error({ err }, `${what}: stop failed`));
    log.info(`${what} stopped`);
  };
  if (stack.api) await step('api', stack.api.stop());
  if (stack.workers.length > 0) await step('workers', Promise.all(stack.workers.map((w) => w.stop())));
  if (stack.temporal) await step('temporal', stack.temporal.stop());
  if (stack.postgres) await step('postgres', stack.postgres.stop());
  stack.pids?.remove();
  log.info('stopped');
  process.exit(exitCode);
}

/** Makes the writer for one child's output lines (launcher/child-output.ts); `kilnLines: false` for Postgres and Temporal. */
type ShowChild = (name: string, kilnLines?: boolean) => (line: string) => void;

async function run(config: KilnConfig, log: Logger, show: ShowChild): Promise<void> {
  const startedAt = Date.now();
  const env = process.env;
  const state = config.launcher.dataDir;
  // Before anything is written: the data directory 0711, what the launcher and its children create there 0600.
  process.umask(LAUNCHER_UMASK);
  prepareDataDir(state, (line, level) => log[level](line));
  const pids = new LauncherPids(path.join(state, 'launcher.pids'), log);
  await pids.claim();
  stack.pids = pids;
  if (stopping) return;
  // After claim(): a previous launcher's orphans, stopped there, no longer hold their ports.
  const metricsPort = config.worker.metricsPort ?? DEFAULT_WORKER_METRICS_PORT;
  await assertPortsFree([
    ...(config.databaseUrl
      ? []
      : [{ setting: 'KILN_POSTGRES_PORT', port: config.launcher.postgresPort, host: LOOPBACK }]),
    ...(config.temporal.addressFromEnv
      ? []
      : [
          { setting: 'KILN_TEMPORAL_PORT', port: config.launcher.temporalPort, host: LOOPBACK },
          { setting: 'KILN_TEMPORAL_UI_PORT', port: config.launcher.temporalUiPort, host: LOOPBACK },
        ]),
    { setting: 'PORT', port: config.api.port, host: config.api.host },
    { setting: 'KILN_WORKER_METRICS_PORT', port: metricsPort, host: LOOPBACK },
  ]);
  /** Supervises `opts`, recording each incarnation's pid under its name, stop tier and signal. */
  const supervise = (opts: Omit<SupervisedOptions, 'log' | 'onPid'>, tier: number) =>
    new SupervisedProcess({
      ...opts,
      log,
      onPid: (pid) => pids.set(opts.name, tier, opts.stop?.signal ?? 'SIGTERM', pid),
    });

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const port = config.launcher.postgresPort;
    log.info(`starting embedded PostgreSQL on 127.0.0.1:${port} (data ${path.join(state, 'postgres')})`);
    const server = await initEmbeddedPostgres({
      dataDir: path.join(state, 'postgres'),
      port,
      log: show('postgres', false),
    });
    if (stopping) return;
    stack.postgres = supervise(
      {
        name: 'postgres',
        prepare: server.prepare,
        spawn: server.spawn,
        ready: server.ready,
        stop: server.stopPolicy,
        failFast: true,
      },
      TIER.postgres,
    );
    await stack.postgres.start();
    databaseUrl = server.url;
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
    const server = temporalDevServer({
      cli: cli.path,
      dbFile: path.join(state, 'temporal.sqlite'),
      port,
      uiPort,
      namespace,
      log: show('temporal', false),
    });
    if (stopping) return;
    stack.temporal = supervise(
      { name: 'temporal', spawn: server.spawn, ready: server.ready, stop: server.stopPolicy, failFast: true },
      TIER.temporal,
    );
    await stack.temporal.start();
    temporalAddress = server.address;
    temporalUi = server.uiUrl;
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
    // The API writes the bootstrap admin key under the launcher's data directory (resolved: the child's cwd may differ).
    KILN_DATA_DIR: state,
    // The launcher shows its children's lines (launcher/child-output.ts): it needs them as JSON.
    KILN_LOG_FORMAT: 'json',
    ...(temporalUi ? { KILN_TEMPORAL_UI_URL: temporalUi } : {}),
  };
  const dist = path.resolve(__dirname, '..');
  const api = supervise(
    {
      name: 'api',
      spawn: () => spawnNodeChild({ script: path.join(dist, 'api', 'main.js'), env: childEnv, output: show('api') }),
      stop: API_STOP,
    },
    TIER.app,
  );
  // Each worker serves Prometheus metrics on its own port: the CPU worker on the base, GPU worker i on base + 1 + i.
  const metricsBase = metricsPort;
  const worker = (name: string, args: string[], extraEnv: NodeJS.ProcessEnv, offset: number) =>
    supervise(
      {
        name,
        spawn: () =>
          spawnNodeChild({
            script: path.join(dist, 'workers', 'main.js'),
            args,
            env: {
              ...childEnv,
              ...extraEnv,
              KILN_WORKER_METRICS_PORT: metricsBase > 0 ? String(metricsBase + offset) : '0',
            },
            output: show(name),
          }),
        ready: readyMessage,
        stop: WORKER_STOP,
      },
      TIER.app,
    );
  const cpuWorker = worker('worker:cpu', ['--pool', 'cpu'], {}, 0);
  stack.api = api;
  stack.workers.push(cpuWorker);
  const apiUp = api.start();
  const cpuWorkerUp = cpuWorker.start();
  // One GPU worker per device (discovered by nvidia-smi, or declared with KILN_DECLARED_GPUS), each pinned to it.
  const devices = await loadDevices({ declared: config.declaredGpus, log: (m) => log.warn(m) });
  if (stopping) return;
  for (const device of devices) {
    const gpuWorker = worker(
      `worker:gpu${device.index}`,
      ['--pool', 'gpu', '--device', String(device.index)],
      device.source === 'nvidia-smi' ? { CUDA_VISIBLE_DEVICES: String(device.index) } : {},
      1 + device.index,
    );
    stack.workers.push(gpuWorker);
    // Not waited for: the platform is ready with its CPU pool; a GPU worker that fails is restarted and logged.
    gpuWorker.start().catch(() => undefined);
  }
  if (devices.length === 0) log.info('no GPU found (nvidia-smi) and none declared (KILN_DECLARED_GPUS): CPU pool only');
  await Promise.all([apiUp, cpuWorkerUp, waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 120_000)]);

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

/**
 * Standard output for the launcher's lines. A closed terminal (SIGHUP) or a reader gone away makes writes fail (EIO,
 * EPIPE); the stream would throw that at the next log call, in the middle of stopping the children. Lines that cannot
 * be written are dropped instead.
 */
function launcherOutput(): DestinationStream {
  const out = stdoutDestination();
  if (out instanceof EventEmitter) out.on('error', () => undefined);
  return out;
}

/** The launcher's exit status for a failed start: 78 for taken ports and children that exited 78, 2 for flags, else 1. */
function launcherExitCode(err: unknown): number {
  if (err instanceof PortsUnavailableError) return EXIT_CONFIG;
  if (err instanceof NotRestartedError) return err.exitCode;
  return exitCodeFor(err);
}

/** Loads the configuration and the logger, then runs; a failure is logged and stops whatever had started. */
function main(): void {
  try {
    const config = loadConfig(process.env);
    const format = resolveLogFormat(config.log.format);
    const out = launcherOutput();
    const launcherLog = initLogging({ level: config.log.level, format }, { component: 'launcher' }, out);
    parseFlags(process.argv.slice(2), {});
    const show: ShowChild = (name, kilnLines = true) => childOutput(name, { format, log: launcherLog, out, kilnLines });
    for (const signal of STOP_SIGNALS) process.on(signal, () => void shutdown(launcherLog, signal, 0));
    watchParent(() => void shutdown(launcherLog, 'the parent process (npm) exited', 0));
    // A launcher that crashes would leave its children running: stop them first.
    process.on('uncaughtException', (err) => {
      logFatal(err, 'launcher failed');
      void shutdown(launcherLog, 'launcher failed', 1);
    });
    run(config, launcherLog, show).catch((err: unknown) => {
      if (stopping) return; // a start step cut short by the shutdown itself
      logFatal(err, 'start failed');
      void shutdown(launcherLog, 'start failed', launcherExitCode(err));
    });
  } catch (err) {
    logFatal(err, 'start failed');
    process.exit(launcherExitCode(err));
  }
}

main();
