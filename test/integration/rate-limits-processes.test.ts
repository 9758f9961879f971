import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOOTSTRAP_KEY_FILE } from '../../api/auth/bootstrap';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { bearer, createTestKey } from '../support/auth';
import { getTestStack, TestStack } from '../support/test-stack';

/** One `node dist/api/main.js` on its own port, with its output kept for a failure's message. */
interface ApiProcess {
  baseUrl: string;
  child: ChildProcess;
  output: () => string;
}

async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'api', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${baseUrl}/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return { baseUrl, child, output: () => output };
    if (Date.now() > deadline) throw new Error(`the API was not ready within 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function stopApiProcess(api: ApiProcess | undefined): Promise<void> {
  if (!api || api.child.exitCode !== null) return;
  const exited = new Promise((resolve) => api.child.once('exit', resolve));
  api.child.kill('SIGTERM');
  await exited;
}

describe('rate limits across two API processes (npm run api twice, one Postgres)', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let dataDir: string;
  const apis: ApiProcess[] = [];

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    // An installation bootstrapped already: neither process creates a key or writes a file.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-rl-processes-'));
    fs.writeFileSync(
      path.join(dataDir, BOOTSTRAP_KEY_FILE),
      `${await createTestKey(stack.pool, { platformAdmin: true })}\n`,
    );
    const env = {
      KILN_DATA_DIR: dataDir,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.env.address,
      TEMPORAL_NAMESPACE: stack.env.namespace ?? 'default',
      KILN_RATE_LIMIT_READ: '10/60',
      KILN_LOG_LEVEL: 'warn',
    };
    apis.push(await startApiProcess(env), await startApiProcess(env));
  });

  after(async () => {
    await Promise.all(apis.map(stopApiProcess));
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lets exactly the budget through however the requests are spread, and both processes refuse past it', async () => {
    const key = await createTestKey(stack.pool, { role: 'viewer', name: 'two-processes' });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${apis[i % 2]!.baseUrl}/api/v1/models?limit=1`, { headers: bearer(key) });
        if (res.status === 429) {
          const body = (await res.json()) as { error: { code: string } };
          expect(body.error.code).to.equal('rate_limited');
          expect(Number(res.headers.get('retry-after'))).to.be.at.least(1);
        } else await res.arrayBuffer();
        return res.status;
      }),
    );
    const detail = `${statuses.join(',')}\n${apis.map((a) => a.output()).join('\n')}`;
    expect(statuses.filter((s) => s === 200).length, detail).to.equal(10);
    expect(statuses.filter((s) => s === 429).length, detail).to.equal(20);
    for (const parity of [0, 1])
      expect(statuses.filter((s, i) => s === 429 && i % 2 === parity).length, `process ${parity}`).to.be.greaterThan(0);
  });
});
