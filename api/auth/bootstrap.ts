import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import { createApiKey, platformAdminKeyExists } from '../../db/api-keys';
import { inTransaction } from '../../db/pool';

/** The file under the data directory (KILN_DATA_DIR) that receives the bootstrap platform-admin key. */
export const BOOTSTRAP_KEY_FILE = 'bootstrap-admin-key';

/**
 * The advisory lock key (pg_advisory_xact_lock's bigint) serialising bootstrap across replicas: two API processes
 * starting together on one database create one key. 0x6b696c6e ('kiln') then 0x626f6f74 ('boot').
 */
const BOOTSTRAP_LOCK = '7739836655966580596';

/** What ensureBootstrapKey found or did. */
export type BootstrapOutcome = 'created' | 'exists' | 'file-missing';

/**
 * Makes sure someone can administer a fresh installation: when no usable platform-admin key exists, creates one for
 * tenant 'default' (name `bootstrap`, role admin, platform admin) and writes it to `<dataDir>/bootstrap-admin-key`
 * (mode 0600; the directory is created 0700 when absent, an existing one keeps its mode: the launcher's data
 * directory must stay traversable by the embedded Postgres). Logs the file's path, never the key.
 *
 * Runs under a transaction-scoped advisory lock; the file is written before the commit, so a failed write leaves no
 * key that nobody can read. When a platform-admin key exists but the file does not, it logs that and does nothing
 * (the key was shown once; an admin lost or removed the file). Throws what Postgres or the file system throws.
 */
export async function ensureBootstrapKey(pool: Pool, dataDir: string, log: Logger): Promise<BootstrapOutcome> {
  const file = path.join(dataDir, BOOTSTRAP_KEY_FILE);
  const created = await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [BOOTSTRAP_LOCK]);
    if (await platformAdminKeyExists(client)) return false;
    const { key } = await createApiKey(client, {
      tenantId: 'default',
      name: 'bootstrap',
      role: 'admin',
      platformAdmin: true,
      createdBy: 'bootstrap',
    });
    writeSecretFile(file, key);
    return true;
  });
  if (created) {
    log.info({ file }, `created the bootstrap platform-admin key (tenant default); it is in ${file}`);
    return 'created';
  }
  if (!fs.existsSync(file)) {
    log.warn(
      { file },
      `a platform-admin key exists but ${file} does not: no new key is created (ask a platform admin for one)`,
    );
    return 'file-missing';
  }
  log.debug({ file }, `platform-admin key present; the bootstrap key file is ${file}`);
  return 'exists';
}

/** Writes `secret` to `file` readable by its owner only, atomically (a temporary file renamed over it). */
function writeSecretFile(file: string, secret: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${secret}\n`, { mode: 0o600 });
  // The umask may take bits away from 0600, never add any; chmod makes it exactly 0600 whatever the umask.
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}
