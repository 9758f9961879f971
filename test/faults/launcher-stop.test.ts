import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  isReady,
  killLeftovers,
  launch,
  platformEnv,
  PlatformProcess,
  platformProcesses,
  watchUntilGone,
} from '../launcher/launch';

/**
 * Fault class "stopping": `npm start` must stop the whole platform on SIGINT, SIGTERM or SIGHUP, whether the signal
 * goes to npm (a process manager, a container runtime), to the launcher, or to the terminal's process group (Ctrl-C, a
 * closed terminal), and in order: API, workers, Temporal, Postgres last. Before: SIGTERM to npm orphaned the launcher
 * with everything running, SIGINT to npm did nothing, SIGHUP killed the launcher outright, and a terminal's Ctrl-C
 * reached Postgres first (it ran in the launcher's process group) while the workers were still draining.
 */
describe('stopping npm start: SIGINT, SIGTERM, SIGHUP to npm, the launcher or the terminal group', function () {
  this.timeout(90_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ({ dataDir, env } = await platformEnv());
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const targets = ['npm', 'launcher', 'group'] as const;
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const target of targets) {
    for (const signal of signals) {
      const hangup = target === 'group' && signal === 'SIGHUP';
      it(`${signal} to ${target === 'group' ? "the terminal's process group" : `${target}'s pid`} stops everything, Postgres last${hangup ? ' (terminal gone)' : ''}`, async () => {
        const run = launch(env, { via: 'npm', group: true });
        let processes: PlatformProcess[] = [];
        try {
          await run.waitForLine(isReady, 120_000);
          processes = platformProcesses(run.child.pid!);
          expect(processes.map((p) => p.role)).to.have.members(['launcher', 'postgres', 'temporal', 'api', 'worker']);
          const of = (role: PlatformProcess['role']) => processes.find((p) => p.role === role)!;

          // A closed terminal: the launcher's output goes nowhere any more (writes fail with EIO / EPIPE).
          if (hangup) {
            run.child.stdout!.destroy();
            run.child.stderr!.destroy();
          }
          const npmPid = run.child.pid!;
          process.kill(target === 'npm' ? npmPid : target === 'launcher' ? of('launcher').pid : -npmPid, signal);

          const goneAt = await watchUntilGone(processes, 45_000);
          const running = processes.filter((p) => goneAt.get(p) === undefined).map((p) => `${p.role} (pid ${p.pid})`);
          expect(running, 'still running').to.deep.equal([]);
          const at = (role: PlatformProcess['role']) => goneAt.get(of(role))!;
          expect(at('api'), 'the API stops before the workers').to.be.at.most(at('worker'));
          expect(at('worker'), 'the workers stop before Temporal').to.be.at.most(at('temporal'));
          expect(at('temporal'), 'Temporal stops before Postgres').to.be.at.most(at('postgres'));
          // A fast shutdown removes postmaster.pid; a killed server leaves it.
          expect(
            fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')),
            'Postgres shut down cleanly',
          ).to.equal(false);
          expect(fs.existsSync(path.join(dataDir, 'launcher.pids')), 'launcher.pids removed').to.equal(false);
          await run.exited;
          if (!hangup) expect(run.lines().map((l) => l.msg)).to.include('stopped');
        } finally {
          killLeftovers(processes);
          run.child.kill('SIGKILL');
        }
      });
    }
  }
});
