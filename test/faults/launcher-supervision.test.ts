import { expect } from 'chai';
import * as fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { waitForHttp } from '../../launcher/wait-for-http';
import {
  isReady,
  killLeftovers,
  Launch,
  launch,
  LogLine,
  platformEnv,
  PlatformProcess,
  platformProcesses,
  watchUntilGone,
  bootstrapAuth,
} from '../launcher/launch';

/**
 * Fault class "supervision": the launcher restarted a dead worker or API, but a dead Temporal dev server or Postgres
 * stayed dead (and the platform with it) without a word. Now both are reported and restarted with the workers'
 * backoff, on the same SQLite file and data directory, so that nothing written before is lost.
 */
describe('supervision: npm start restarts a dead Temporal dev server or Postgres on the same state', function () {
  this.timeout(90_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let run: Launch;
  let base: string;
  const seen: PlatformProcess[] = [];
  const current = (role: PlatformProcess['role']) => {
    const found = platformProcesses(run.child.pid!);
    seen.push(...found);
    return found.find((p) => p.role === role)!;
  };
  const launcherSays = (start: string) => (line: LogLine) =>
    line.component === 'launcher' && line.msg.startsWith(start);

  before(async function () {
    this.timeout(120_000);
    ({ dataDir, env } = await platformEnv());
    base = `http://127.0.0.1:${env.PORT}`;
    run = launch(env, { via: 'node' });
    await run.waitForLine(isReady, 120_000);
  });
  after(async function () {
    this.timeout(60_000);
    current('launcher');
    run.child.kill('SIGTERM');
    await watchUntilGone(seen, 45_000);
    killLeftovers(seen);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts a killed Temporal dev server; a workflow started before is still there', async () => {
    const address = `127.0.0.1:${env.KILN_TEMPORAL_PORT}`;
    const workflowId = `kiln-fault-probe-${Date.now()}`;
    let connection = await Connection.connect({ address });
    // No worker polls this queue: the workflow just waits, recorded in the SQLite file.
    await new Client({ connection }).workflow.start('kilnFaultProbe', { taskQueue: 'kiln-fault-probe', workflowId });
    await connection.close();

    const temporal = current('temporal');
    process.kill(temporal.pid, 'SIGKILL');
    await run.waitForLine(launcherSays('temporal died (code null, signal SIGKILL); restarting it in 1 s'), 10_000);
    const back = await run.waitForLine(launcherSays('temporal restarted (pid '), 60_000);
    expect(back.msg).to.not.equal(`temporal restarted (pid ${temporal.pid})`);
    expect(current('temporal').pid).to.not.equal(temporal.pid);

    connection = await Connection.connect({ address });
    try {
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      expect(description.status.name).to.equal('RUNNING');
    } finally {
      await connection.close();
    }
    await waitForHttp(`${base}/ready`, 30_000);
  });

  it('restarts a killed Postgres; a dataset uploaded before is still there', async () => {
    const upload = await fetch(`${base}/api/v1/datasets`, {
      method: 'POST',
      headers: { ...bootstrapAuth(dataDir), 'content-type': 'text/csv' },
      body: 'a,b\n1,2\n3,4\n',
    });
    expect(upload.status).to.equal(201);
    const dataset = (await upload.json()) as { id: string };

    const postgres = current('postgres');
    process.kill(postgres.pid, 'SIGKILL');
    await run.waitForLine(launcherSays('postgres died (code null, signal SIGKILL); restarting it in 1 s'), 10_000);
    await run.waitForLine(launcherSays('postgres restarted (pid '), 60_000);
    expect(current('postgres').pid).to.not.equal(postgres.pid);

    await waitForHttp(`${base}/ready`, 30_000);
    await waitForHttp(`${base}/api/v1/datasets/${dataset.id}`, 30_000, bootstrapAuth(dataDir));
  });
});
