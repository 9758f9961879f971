import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../common/search-attributes';
import { forwardLines } from './child-lines';
import { isPortOpen } from './free-port';
import { hasEnded, StopPolicy } from './stop-child';
import { dynamicConfigFlags } from './temporal-dynamic-config';
import { sqlitePragmaFlags } from './temporal-sqlite-pragmas';

export interface TemporalDevServerOptions {
  cli: string;
  /** SQLite file: workflow history survives restarts (of the launcher, and of the server under it). */
  dbFile: string;
  ip?: string;
  port: number;
  uiPort: number;
  namespace?: string;
  log?: (line: string) => void;
}

/**
 * How to run `temporal server start-dev` with Kiln's search attributes registered: the launcher supervises it
 * (launcher/supervised-process.ts), spawning it again on the same SQLite file and ports when it dies.
 */
export interface TemporalDevServer {
  /** host:port of the frontend (gRPC). */
  address: string;
  /** The CLI's arguments (`server start-dev ...`). */
  args: readonly string[];
  uiUrl: string;
  /** Spawns the server in its own process group (a terminal's Ctrl-C must not stop it before the workers). */
  spawn(): ChildProcess;
  /** Resolves once the frontend answers gRPC for the namespace (workers must not poll a namespace not there yet). */
  ready(child: ChildProcess): Promise<void>;
  stopPolicy: StopPolicy;
}

/** How long a freshly spawned server gets to serve its namespace. */
const READY_TIMEOUT_MS = 60_000;

/**
 * The dev server for `opts` (nothing is spawned yet): `--log-level warn`, Kiln's search attributes, dynamic config
 * and SQLite pragmas (write-ahead log).
 */
export function temporalDevServer(opts: TemporalDevServerOptions): TemporalDevServer {
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const log = opts.log ?? (() => undefined);
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    ip,
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--log-level',
    'warn',
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    ...searchAttributeFlags(),
    ...dynamicConfigFlags(),
    ...sqlitePragmaFlags(),
  ];
  const address = `${ip}:${opts.port}`;
  return {
    address,
    args,
    uiUrl: `http://${ip}:${opts.uiPort}`,
    spawn: () => {
      fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
      const child = spawn(opts.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      forwardLines(child, (line) => line.trim() && log(line));
      return child;
    },
    ready: (child) => waitForNamespace(child, ip, opts.port, namespace),
    stopPolicy: { signal: 'SIGTERM', graceMs: 10_000 },
  };
}

/** Polls until the port opens, then until the namespace can be described; gives up when the server exits. */
async function waitForNamespace(child: ChildProcess, ip: string, port: number, namespace: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const address = `${ip}:${port}`;
  let lastError: unknown = `nothing listens on ${address}`;
  while (!hasEnded(child) && Date.now() < deadline) {
    if (await isPortOpen(port, ip)) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 2_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        lastError = err;
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (hasEnded(child)) {
    throw new Error(`temporal server exited early (code ${child.exitCode}, signal ${child.signalCode})`);
  }
  throw new Error(`Temporal namespace ${namespace} not ready at ${address}: ${String(lastError)}`);
}
