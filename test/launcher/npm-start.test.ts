import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { cliSearch, resolveTemporalCli } from '../../launcher/temporal-cli';
import { bootstrapAuth } from './launch';

/** One line of the launcher's output: without a terminal every line is a JSON log entry. */
interface LogLine {
  msg: string;
  component?: string;
  pool?: string;
  pid: number;
  level: number;
  [field: string]: unknown;
}

interface Launch {
  child: ChildProcess;
  output: () => string;
  /** Every complete output line, parsed; fails the test on a line that is not a JSON log entry. */
  lines: () => LogLine[];
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
  waitForLine: (predicate: (line: LogLine) => boolean, timeoutMs: number) => Promise<LogLine>;
}

function launch(env: NodeJS.ProcessEnv): Launch {
  let output = '';
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'launcher', 'start.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const lines = () =>
    output
      .split('\n')
      .slice(0, -1)
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          throw new Error(`not a JSON log line: ${JSON.stringify(line)}`);
        }
      });
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = output.match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitForLine = async (predicate: (line: LogLine) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines().find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such line within ${timeoutMs} ms; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, output: () => output, lines, waitFor, waitForLine };
}

const isReady = (line: LogLine) => line.component === 'launcher' && /^ready in [\d.]+ s$/.test(line.msg);
const isCpuWorkerReady = (line: LogLine) =>
  line.component === 'worker' && line.pool === 'cpu' && line.msg.startsWith('worker ready');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );
}

describe('npm start (the launcher) with its own Postgres and Temporal', function () {
  this.timeout(300_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const cli = await resolveTemporalCli(cliSearch(loadConfig(process.env).launcher, process.env.PATH));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-start-'));
    fs.chmodSync(dataDir, 0o755);
    const [api, postgres, temporal, ui, metrics] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_CLI: cli.path,
      KILN_DATA_DIR: dataDir,
      PORT: String(api),
      KILN_POSTGRES_PORT: String(postgres),
      KILN_TEMPORAL_PORT: String(temporal),
      KILN_TEMPORAL_UI_PORT: String(ui),
      KILN_WORKER_METRICS_PORT: String(metrics),
    };
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('starts everything, restarts a dead worker, stops every child on SIGTERM, and keeps state for the next start', async () => {
    const first = launch(env);
    await first.waitForLine(isReady, 120_000);
    const base = `http://127.0.0.1:${env.PORT}`;
    const upload = await fetch(`${base}/api/v1/datasets`, {
      method: 'POST',
      headers: { ...bootstrapAuth(dataDir), 'content-type': 'text/csv' },
      body: 'a,b\n1,2\n3,4\n',
    });
    expect(upload.status).to.equal(201);
    const dataset = (await upload.json()) as { id: string };

    // Without a terminal the launcher and its children log JSON, and no line gives the embedded Postgres password away.
    const started = first.lines();
    expect(started.find(isReady)).to.include({
      postgres: `postgres://postgres:***@127.0.0.1:${env.KILN_POSTGRES_PORT}/kiln`,
    });
    expect(first.output()).to.not.contain('postgres:kiln@');
    // The API created the bootstrap admin key (owner-only file) and logged its path, never the key.
    const keyFile = path.join(dataDir, 'bootstrap-admin-key');
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    expect(first.output()).to.contain(keyFile);
    expect(first.output()).to.not.contain(bootstrapAuth(dataDir).authorization!.slice('Bearer '.length));
    // Tenant data is not for other users of the machine: the data directory (0755 from this test) is made 0711
    // (traversable for the postgres user when run as root, not listable), what the launcher and Temporal write 0600.
    const modeOf = (name: string) => (fs.statSync(path.join(dataDir, name)).mode & 0o777).toString(8);
    expect(modeOf('.'), 'data directory').to.equal('711');
    for (const name of ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm', 'launcher.pids']) {
      expect(modeOf(name), name).to.equal('600');
    }
    expect(modeOf('postgres'), 'the cluster').to.equal('700');
    expect(first.output()).to.contain(`made ${dataDir} 0711 (was 0755)`);
    const pids = [...new Set(started.filter((l) => l.component !== 'launcher').map((l) => l.pid))];
    const workerPid = started.find(isCpuWorkerReady)!.pid;
    expect(
      started.find((l) => l.component === 'api' && l.msg.startsWith('api listening')),
      'api listening',
    ).to.not.equal(undefined);
    const scraped = await fetch(`http://127.0.0.1:${env.KILN_WORKER_METRICS_PORT}/metrics`);
    expect(await scraped.text()).to.match(/kiln_worker_activities_in_flight\{pool="cpu"\} 0/);
    expect(pids).to.include(workerPid);
    process.kill(workerPid, 'SIGKILL');
    await first.waitFor(/worker:cpu died .* restarting/, 10_000);
    const restarted = await first.waitForLine((l) => isCpuWorkerReady(l) && l.pid !== workerPid, 60_000);
    const children = [...pids, restarted.pid];

    first.child.kill('SIGTERM');
    expect(await stopped(first.child)).to.equal(0);
    expect(first.lines().map((l) => l.msg)).to.include('stopped');
    for (const pid of children) expect(alive(pid), `pid ${pid} still running`).to.equal(false);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'postgres left its pid file').to.equal(
      false,
    );

    const second = launch(env);
    await second.waitForLine(isReady, 120_000);
    try {
      const again = await fetch(`${base}/api/v1/datasets/${dataset.id}`, { headers: bootstrapAuth(dataDir) });
      expect(again.status).to.equal(200);
    } finally {
      second.child.kill('SIGINT');
      expect(await stopped(second.child)).to.equal(0);
    }
  });
});
