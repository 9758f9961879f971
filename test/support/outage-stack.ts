import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { loadConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { repoRoot } from '../../common/paths';
import { createPool } from '../../db/pool';
import { RunningPostgres, startEmbeddedPostgres } from '../../launcher/embedded-postgres';
import { freePort } from '../../launcher/free-port';
import { cliSearch, resolveTemporalCli } from '../../launcher/temporal-cli';
import { stopChild } from '../../launcher/stop-child';
import { TemporalDevServer, temporalDevServer } from '../../launcher/temporal-dev-server';
import { migrate } from '../../migrations/migrator';

/**
 * Servers a test may take down: an embedded Postgres and a Temporal dev server of its own (the shared test stack's
 * serve other suites), each restartable on the same port and data (Postgres' data directory, Temporal's SQLite file),
 * and real worker processes (dist/workers/main.js) on kiln-cpu, as `npm run worker` starts them.
 */
export class OutageStack {
  /** The test's own pool (silent: its idle clients' errors during an outage are expected). */
  db!: Pool;
  client!: Client;
  private connection!: Connection;
  private postgres: RunningPostgres | undefined;
  private temporal: { server: TemporalDevServer; child: ChildProcess } | undefined;
  private readonly workers: Array<{ child: ChildProcess; output: string[] }> = [];

  private constructor(
    private readonly dir: string,
    private readonly ports: { postgres: number; temporal: number; ui: number },
    private readonly cli: string,
  ) {}

  /** Starts both servers (Postgres migrated) and connects a client. */
  static async start(): Promise<OutageStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-outage-'));
    fs.chmodSync(dir, 0o755); // the postgres user must reach its data directory inside
    const ports = { postgres: await freePort(), temporal: await freePort(), ui: await freePort() };
    const cli = await resolveTemporalCli(cliSearch(loadConfig(process.env).launcher, process.env.PATH));
    const stack = new OutageStack(dir, ports, cli.path);
    await Promise.all([stack.startPostgres(), stack.startTemporal()]);
    stack.db = createPool(stack.postgres!.url, 4, createLogger({ level: 'silent' }));
    await migrate(stack.db);
    stack.connection = await Connection.connect({ address: stack.temporal!.server.address });
    stack.client = new Client({ connection: stack.connection });
    return stack;
  }

  get databaseUrl(): string {
    return this.postgres!.url;
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startEmbeddedPostgres({
      dataDir: path.join(this.dir, 'postgres'),
      port: this.ports.postgres,
      persistent: true,
    });
  }

  /** A fast shutdown: open connections are terminated (57P01), new ones refused, until startPostgres. */
  async stopPostgres(): Promise<void> {
    await this.postgres?.stop();
    this.postgres = undefined;
  }

  /**
   * Postgres that hangs instead of refusing (a network partition): SIGSTOP (or SIGCONT) to the postmaster and every
   * backend it forked, so connections stay open and queries get no answer.
   */
  signalPostgres(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const postmaster = Number(
      fs.readFileSync(path.join(this.dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const children = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return /^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] === String(postmaster);
        } catch {
          return false; // exited meanwhile
        }
      })
      .map(Number);
    for (const pid of [postmaster, ...children]) process.kill(pid, signal);
  }

  async startTemporal(): Promise<void> {
    const server = temporalDevServer({
      cli: this.cli,
      dbFile: path.join(this.dir, 'temporal.sqlite'),
      port: this.ports.temporal,
      uiPort: this.ports.ui,
    });
    const child = server.spawn();
    await server.ready(child);
    this.temporal = { server, child };
  }

  async stopTemporal(): Promise<void> {
    if (this.temporal) await stopChild(this.temporal.child, this.temporal.server.stopPolicy);
    this.temporal = undefined;
  }

  /** Starts a CPU worker process and resolves once it says it is ready (it polls kiln-cpu with `concurrency` slots). */
  async startWorker(concurrency: number): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'cpu', '--concurrency', String(concurrency)],
      {
        env: {
          ...process.env,
          DATABASE_URL: this.postgres!.url,
          TEMPORAL_ADDRESS: this.temporal!.server.address,
          KILN_LOG_LEVEL: 'warn',
          KILN_LOG_FORMAT: 'json',
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    const output: string[] = [];
    const keep = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.workers.push({ child, output });
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { kiln?: string }) => {
        if (m?.kiln === 'ready') resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`worker exited before ready (${code ?? signal}): ${output.slice(-20).join('\n')}`)),
      );
    });
    return child;
  }

  /** The last lines a worker wrote (for a failing assertion's message). */
  workerOutput(child: ChildProcess, lines = 10): string {
    return (this.workers.find((w) => w.child === child)?.output ?? []).slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    for (const { child } of this.workers.splice(0)) await stopChild(child, { signal: 'SIGTERM', graceMs: 15_000 });
    await this.connection?.close().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    await this.stopTemporal().catch(() => undefined);
    await this.stopPostgres().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
