import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from 'pg';
import { BOOTSTRAP_KEY_FILE, ensureBootstrapKey } from '../../api/auth/bootstrap';
import { createLogger } from '../../common/logger';
import { findApiKeyForAuth, parseApiKey, secretMatches } from '../../db/api-keys';
import { createPool } from '../../db/pool';
import { migrate } from '../../migrations/migrator';
import { getTestStack, TestStack } from '../support/test-stack';

/**
 * The bootstrap platform-admin key (api/auth/bootstrap.ts) on a database of its own: the shared test database has
 * platform-admin keys already (every startTestApi creates one).
 */
describe('auth: the bootstrap platform-admin key', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let database: string;
  let pools: Pool[] = [];
  let tmp: string;
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (chunk: string) => void lines.push(chunk) } });

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    database = `kiln_bootstrap_${randomBytes(4).toString('hex')}`;
    await stack.pool.query(`CREATE DATABASE ${database}`);
    const url = new URL(stack.databaseUrl);
    url.pathname = `/${database}`;
    pools = [createPool(url.toString(), 2, log), createPool(url.toString(), 2, log)];
    await migrate(pools[0]!);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bootstrap-'));
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await stack.pool.query(`DROP DATABASE IF EXISTS ${database}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const platformAdmins = async () =>
    (await pools[0]!.query<{ n: string }>('SELECT count(*) AS n FROM api_keys WHERE platform_admin')).rows[0]!.n;

  it('two replicas starting together create one key, written 0600 in a 0700 directory; only its path is logged', async () => {
    const [dirA, dirB] = [path.join(tmp, 'a', 'data'), path.join(tmp, 'b', 'data')];
    const outcomes = await Promise.all([
      ensureBootstrapKey(pools[0]!, dirA, log),
      ensureBootstrapKey(pools[1]!, dirB, log),
    ]);
    expect([...outcomes].sort()).to.deep.equal(['created', 'file-missing']);
    expect(await platformAdmins()).to.equal('1');
    const dir = outcomes[0] === 'created' ? dirA : dirB;
    const file = path.join(dir, BOOTSTRAP_KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(dir).mode & 0o777).to.equal(0o700);

    const key = fs.readFileSync(file, 'utf8').trim();
    const parsed = parseApiKey(key)!;
    const stored = await findApiKeyForAuth(pools[0]!, parsed.keyId);
    expect(secretMatches(parsed.secret, stored!.secretSha256)).to.equal(true);
    expect(stored!.record).to.include({
      tenantId: 'default',
      name: 'bootstrap',
      role: 'admin',
      platformAdmin: true,
      createdBy: 'bootstrap',
      revokedAt: null,
      expiresAt: null,
    });

    const all = lines.join('');
    expect(all).to.contain(file);
    expect(all).to.not.contain(key);
    expect(all).to.not.contain(parsed.secret);
    expect(all).to.match(/a platform-admin key exists but .* does not/);

    // A restart with the file in place: nothing new.
    expect(await ensureBootstrapKey(pools[0]!, dir, log)).to.equal('exists');
    expect(await platformAdmins()).to.equal('1');
    expect(fs.readFileSync(file, 'utf8').trim()).to.equal(key);
  });

  it('with a platform-admin key and its file gone, logs that and creates nothing; a revoked one is replaced', async () => {
    const dir = path.join(tmp, 'c');
    lines.length = 0;
    expect(await ensureBootstrapKey(pools[0]!, dir, log)).to.equal('file-missing');
    expect(fs.existsSync(path.join(dir, BOOTSTRAP_KEY_FILE))).to.equal(false);
    expect(await platformAdmins()).to.equal('1');
    expect(lines.join('')).to.contain(path.join(dir, BOOTSTRAP_KEY_FILE));

    // No usable platform admin left (revoked): the next start bootstraps again.
    await pools[0]!.query('UPDATE api_keys SET revoked_at = now() WHERE platform_admin');
    expect(await ensureBootstrapKey(pools[0]!, dir, log)).to.equal('created');
    expect(await platformAdmins()).to.equal('2');
    expect(parseApiKey(fs.readFileSync(path.join(dir, BOOTSTRAP_KEY_FILE), 'utf8').trim())).to.not.equal(undefined);
  });
});
