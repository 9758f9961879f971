import { expect } from 'chai';
import * as fs from 'node:fs';
import {
  isReady,
  killLeftovers,
  Launch,
  launch,
  platformEnv,
  PlatformProcess,
  platformProcesses,
  stillRuns,
  watchUntilGone,
  bootstrapAuth,
} from '../launcher/launch';

/**
 * Fault class "orphans": a launcher killed with -9 cannot stop its Postgres and Temporal server; they kept running,
 * and the next `npm start` on the same data directory failed on postmaster.pid without a hint. Now the next start
 * finds them in launcher.pids (pid and start time), stops them, says so, and starts on the same state.
 */
describe('orphans: npm start after the launcher was killed with -9', function () {
  this.timeout(90_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ({ dataDir, env } = await platformEnv());
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('stops what the killed launcher left running (logged, by pid) and starts on the same state', async () => {
    const first = launch(env, { via: 'npm' });
    let before: PlatformProcess[] = [];
    let after: PlatformProcess[] = [];
    let second: Launch | undefined;
    try {
      await first.waitForLine(isReady, 120_000);
      before = platformProcesses(first.child.pid!);
      const base = `http://127.0.0.1:${env.PORT}`;
      const upload = await fetch(`${base}/api/v1/datasets`, {
        method: 'POST',
        headers: { ...bootstrapAuth(dataDir), 'content-type': 'text/csv' },
        body: 'a,b\n1,2\n3,4\n',
      });
      expect(upload.status).to.equal(201);
      const dataset = (await upload.json()) as { id: string };

      const launcher = before.find((p) => p.role === 'launcher')!;
      process.kill(launcher.pid, 'SIGKILL');
      await first.exited;
      // The servers cannot notice (no IPC channel to the launcher); the API and workers stop by themselves.
      const servers = before.filter((p) => (p.role === 'postgres' || p.role === 'temporal') && stillRuns(p));
      expect(servers.map((p) => p.role)).to.have.members(['postgres', 'temporal']);

      second = launch(env, { via: 'npm' });
      await second.waitForLine(isReady, 120_000);
      after = platformProcesses(second.child.pid!);
      const said = second.lines().map((l) => l.msg);
      for (const server of servers) {
        expect(said.find((m) => m.startsWith(`stopping ${server.role} (pid ${server.pid}) left running`))).to.match(
          new RegExp(`by a previous launcher \\(pid ${launcher.pid}\\) that did not stop it$`),
        );
      }
      expect(before.filter(stillRuns).map((p) => `${p.role} (pid ${p.pid})`)).to.deep.equal([]);
      const again = await fetch(`${base}/api/v1/datasets/${dataset.id}`, { headers: bootstrapAuth(dataDir) });
      expect(again.status, 'the dataset uploaded before the kill').to.equal(200);

      second.child.kill('SIGTERM');
      const goneAt = await watchUntilGone(after, 45_000);
      expect(after.filter((p) => goneAt.get(p) === undefined).map((p) => p.role)).to.deep.equal([]);
    } finally {
      killLeftovers([...before, ...after]);
      second?.child.kill('SIGKILL');
    }
  });
});
