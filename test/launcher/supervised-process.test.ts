import { expect } from 'chai';
import { spawn } from 'node:child_process';
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
