import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../common/search-attributes';
import { waitForPort } from './free-port';
import { dynamicConfigFlags } from './temporal-dynamic-config';

export interface TemporalDevServerOptions {
  cli: string;
  /** SQLite file: workflow history survives restarts. */
  dbFile: string;
  ip?: string;
  port: number;
  uiPort: number;
  namespace?: string;
  log?: (line: string) => void;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` as a child process with Kiln's search attributes registered, and resolves once
 * the frontend answers gRPC (not merely when the port opens: the namespace must exist before workers poll it).
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<RunningTemporal> {
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
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
  ];
  // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops the server after the workers.
  const child = spawn(opts.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`temporal server exited early (code ${code}, signal ${signal})`)),
    ),
  );
  exited.catch(() => undefined);

  const address = `${ip}:${opts.port}`;
  await Promise.race([waitForPort(opts.port, ip, 60_000, 'Temporal dev server'), exited]);
  await Promise.race([waitForNamespace(address, namespace), exited]);

  return {
    address,
    uiUrl: `http://${ip}:${opts.uiPort}`,
    process: child,
    stop: () => stopChild(child, 10_000),
  };
}

async function waitForNamespace(address: string, namespace: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
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
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Temporal namespace ${namespace} not ready at ${address}: ${String(lastError)}`);
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
