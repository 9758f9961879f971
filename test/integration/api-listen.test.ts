import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOOTSTRAP_KEY_FILE } from '../../api/auth/bootstrap';
import { EXIT_CONFIG } from '../../common/exit-codes';
import { createTestKey } from '../support/auth';
import { onlyFatalLine, runEntryPoint } from '../support/run-entry-point';
import { getTestStack, TestStack } from '../support/test-stack';

describe('npm run api on a port in use', function () {
  let stack: TestStack;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
  });

  it(`logs one line naming PORT and exits ${EXIT_CONFIG}, after connecting to real servers`, async function () {
    this.timeout(120_000);
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    // An installation bootstrapped already (a platform-admin key and its file): the API has nothing to say about it.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-listen-'));
    fs.writeFileSync(
      path.join(dataDir, BOOTSTRAP_KEY_FILE),
      `${await createTestKey(stack.pool, { platformAdmin: true })}\n`,
    );
    try {
      const run = await runEntryPoint('api/main.js', [], {
        KILN_DATA_DIR: dataDir,
        DATABASE_URL: stack.databaseUrl,
        TEMPORAL_ADDRESS: stack.env.address,
        TEMPORAL_NAMESPACE: stack.env.namespace ?? 'default',
        PORT: String(port),
      });
      expect(onlyFatalLine(run).msg).to.equal(
        `port ${port} on 127.0.0.1 is in use: set PORT to a free port (0: any free one)`,
      );
      expect(run.code).to.equal(EXIT_CONFIG);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
