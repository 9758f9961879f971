import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../common/logger';
import { LauncherPids } from '../../launcher/launcher-pids';
import { processStartTime } from '../../launcher/process-identity';
import { expectRejects } from '../support/expect-rejects';

/** A stand-in for a child a killed launcher left behind: its own process group, not waited for by anyone but us. */
function orphan(): ChildProcess {
  return spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
}

const running = (pid: number) => processStartTime(pid) !== undefined;

/** Resolves with when (ms since the epoch) the child exited. */
const exitTime = (child: ChildProcess) =>
  new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));

describe('launcher.pids: the next start stops what a killed launcher left running', () => {
  let dir: string;
  let file: string;
  let lines: string[];
  let pids: LauncherPids;
  const spawned: ChildProcess[] = [];
  const track = (child: ChildProcess) => (spawned.push(child), child);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pids-'));
    file = path.join(dir, 'launcher.pids');
    lines = [];
    pids = new LauncherPids(file, createLogger({ destination: { write: (line: string) => void lines.push(line) } }));
  });
  afterEach(() => {
    for (const child of spawned.splice(0)) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const record = (launcher: { pid: number; startTime: string }, processes: object[]) =>
    fs.writeFileSync(file, JSON.stringify({ launcher, processes }));
  const entry = (name: string, child: ChildProcess, tier: number, signal: NodeJS.Signals) => ({
    name,
    pid: child.pid!,
    startTime: processStartTime(child.pid!)!,
    tier,
    signal,
  });

  it('stops the recorded processes of a dead launcher, in tier order, and says so', async () => {
    const temporal = track(orphan());
    const postgres = track(orphan());
    const temporalExit = exitTime(temporal);
    const postgresExit = exitTime(postgres);
    record({ pid: 999_999_999, startTime: 'gone' }, [
      entry('postgres', postgres, 2, 'SIGINT'),
      entry('temporal', temporal, 1, 'SIGTERM'),
    ]);

    await pids.claim();

    expect(running(temporal.pid!) || running(postgres.pid!), 'a leftover still runs').to.equal(false);
    expect(await temporalExit).to.be.at.most(await postgresExit);
    expect(postgres.signalCode).to.equal('SIGINT');
    const said = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(said).to.include(
      `stopping temporal (pid ${temporal.pid}) left running by a previous launcher (pid 999999999) that did not stop it`,
    );
    expect(said).to.include(
      `stopping postgres (pid ${postgres.pid}) left running by a previous launcher (pid 999999999) that did not stop it`,
    );
    // The file now names this launcher and nothing else yet.
    const now = JSON.parse(fs.readFileSync(file, 'utf8')) as { launcher: { pid: number }; processes: unknown[] };
    expect(now.launcher.pid).to.equal(process.pid);
    expect(now.processes).to.deep.equal([]);
  });

  it('leaves a process alone whose pid was recycled (another start time)', async () => {
    const stranger = track(orphan());
    record({ pid: 999_999_999, startTime: 'gone' }, [
      { ...entry('postgres', stranger, 2, 'SIGINT'), startTime: 'an earlier process with this pid' },
    ]);
    await pids.claim();
    expect(running(stranger.pid!)).to.equal(true);
    expect(lines.join('')).to.not.contain('left running');
  });

  it('refuses to start while the recorded launcher still runs, and touches none of its children', async () => {
    const launcher = track(orphan());
    const postgres = track(orphan());
    record({ pid: launcher.pid!, startTime: processStartTime(launcher.pid!)! }, [
      entry('postgres', postgres, 2, 'SIGINT'),
    ]);
    await expectRejects(pids.claim(), (err) =>
      expect(err.message).to.equal(
        `another launcher (pid ${launcher.pid}) is running on ${dir}; stop it (kill -TERM ${launcher.pid}) ` +
          'or point KILN_DATA_DIR at another directory',
      ),
    );
    expect(running(postgres.pid!)).to.equal(true);
  });

  it('records each child with its start time and forgets it once it has ended', async () => {
    await pids.claim();
    const worker = track(orphan());
    pids.set('worker:cpu', 0, 'SIGTERM', worker.pid);
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as { processes: object[] };
    expect(recorded.processes).to.deep.equal([entry('worker:cpu', worker, 0, 'SIGTERM')]);
    pids.set('worker:cpu', 0, 'SIGTERM', undefined);
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { processes: object[] }).processes).to.deep.equal([]);
    pids.remove();
    expect(fs.existsSync(file)).to.equal(false);
  });
});
