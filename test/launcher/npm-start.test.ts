import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { resolveTemporalCli } from '../../launcher/temporal-cli';

interface Launch {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
}

function launch(env: NodeJS.ProcessEnv): Launch {
  let output = '';
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'launcher', 'start.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = output.match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, output: () => output, waitFor };
}

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
    const cli = await resolveTemporalCli();
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
    await first.waitFor(/\[kiln\] ready in/, 120_000);
    const base = `http://127.0.0.1:${env.PORT}`;
    const upload = await fetch(`${base}/api/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b\n1,2\n3,4\n',
    });
    expect(upload.status).to.equal(201);
    const dataset = (await upload.json()) as { id: string };

    const pids = [...first.output().matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    const workerPid = Number(first.output().match(/worker pool=cpu .* pid=(\d+)/)![1]);
    const scraped = await fetch(`http://127.0.0.1:${env.KILN_WORKER_METRICS_PORT}/metrics`);
    expect(await scraped.text()).to.match(/kiln_worker_activities_in_flight\{pool="cpu"\} 0/);
    expect(pids).to.include(workerPid);
    process.kill(workerPid, 'SIGKILL');
    await first.waitFor(/worker:cpu died .* restarting/, 10_000);
    const restarted = await first.waitFor(new RegExp(`worker pool=cpu .* pid=(?!${workerPid}\\b)(\\d+)`), 60_000);
    const children = [...pids, Number(restarted[1])];

    first.child.kill('SIGTERM');
    expect(await stopped(first.child)).to.equal(0);
    expect(first.output()).to.contain('[kiln] stopped');
    for (const pid of children) expect(alive(pid), `pid ${pid} still running`).to.equal(false);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'postgres left its pid file').to.equal(
      false,
    );

    const second = launch(env);
    await second.waitFor(/\[kiln\] ready in/, 120_000);
    try {
      const again = await fetch(`${base}/api/v1/datasets/${dataset.id}`);
      expect(again.status).to.equal(200);
    } finally {
      second.child.kill('SIGINT');
      expect(await stopped(second.child)).to.equal(0);
    }
  });
});
