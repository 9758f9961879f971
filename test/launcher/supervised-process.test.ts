import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { createLogger } from '../../common/logger';
import { NotRestartedError, SupervisedProcess } from '../../launcher/supervised-process';

/** A child that exits at once with `code`, counting its spawns. */
function exiting(code: number) {
  const spawned = { count: 0 };
  const supervised = new SupervisedProcess({
    name: 'probe',
    log: createLogger({ level: 'silent' }),
    spawn: () => {
      spawned.count++;
      return spawn(process.execPath, ['-e', `process.exit(${code})`], { detached: true, stdio: 'ignore' });
    },
    // Never ready: the exit decides.
    ready: () => new Promise<void>(() => undefined),
  });
  return { supervised, spawned };
}

describe('launcher: a child that exits with a configuration or usage status is not restarted', function () {
  this.timeout(20_000);
  for (const code of [78, 2]) {
    it(`exit ${code}: start() fails once with that status, no restart loop`, async () => {
      const { supervised, spawned } = exiting(code);
      const err = await supervised.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(NotRestartedError);
      expect((err as NotRestartedError).exitCode).to.equal(code);
      expect((err as Error).message).to.match(/not restarting/);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(spawned.count).to.equal(1);
      await supervised.stop();
    });
  }

  it('exit 1 (a crash) is restarted after the backoff', async () => {
    const { supervised, spawned } = exiting(1);
    void supervised.start().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await supervised.stop();
    expect(spawned.count).to.be.greaterThan(1);
  });
});

/** A supervised child that runs until signalled and exits 0 on SIGTERM (as the API does), its log lines captured. */
function cleanExiter() {
  const lines: { level: number; msg: string }[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) };
  const spawned: ChildProcess[] = [];
  const supervised = new SupervisedProcess({
    name: 'api',
    log: createLogger({ level: 'info', destination }),
    spawn: () => {
      const child = spawn(
        process.execPath,
        ['-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => undefined, 1000)"],
        { detached: true, stdio: 'ignore' },
      );
      spawned.push(child);
      return child;
    },
    // Ready once the child has had time to install its SIGTERM handler.
    ready: () => new Promise<void>((resolve) => setTimeout(resolve, 300)),
  });
  return { supervised, spawned, lines };
}

const exitOf = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

describe('launcher: how a child that exits is logged', function () {
  this.timeout(20_000);
  const WARN = 40;

  it('a clean exit the launcher did not ask for is a warning, restarted', async () => {
    const { supervised, spawned, lines } = cleanExiter();
    await supervised.start();
    const first = spawned[0]!;
    const exit = exitOf(first);
    first.kill('SIGTERM'); // from "another process": not through stop()
    await exit;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await supervised.stop();
    const line = lines.find((l) => l.msg.startsWith('api exited (code 0) without the launcher stopping it'));
    expect(line, JSON.stringify(lines)).to.not.equal(undefined);
    expect(line!.level).to.equal(WARN);
    expect(line!.msg).to.match(/restarting it in 1 s$/);
  });

  it('stop() and an exit while the launcher is stopping log nothing above info and restart nothing', async () => {
    const { supervised, spawned, lines } = cleanExiter();
    await supervised.start();
    supervised.stopRestarting();
    const first = spawned[0]!;
    const exit = exitOf(first);
    first.kill('SIGTERM'); // a service manager signalling every process of the unit, before the launcher's turn
    await exit;
    await supervised.stop();
    expect(spawned).to.have.length(1);
    expect(lines.filter((l) => l.level >= WARN)).to.deep.equal([]);
    expect(lines.map((l) => l.msg)).to.include('api exited (code 0, signal null) while the launcher is stopping');

    const second = cleanExiter();
    await second.supervised.start();
    await second.supervised.stop();
    expect(second.spawned).to.have.length(1);
    expect(second.lines).to.deep.equal([]);
  });
});
