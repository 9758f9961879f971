import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../common/paths';
import { SqlStatement, sqlStatements, tablesOf } from '../support/sql-statements';
import { getTestStack } from '../support/test-stack';

/**
 * Tenant isolation in Kiln's own data (README: Tenants): every statement in db/ that reads or writes a table with a
 * tenant_id column names tenant_id (a filter, or the value it writes). Rather than row-level security, this test walks
 * the SQL of db/*.ts (sqlStatements: every SQL string and template literal, with the constants they interpolate
 * filled in) and fails on a statement that does not, so a new query cannot forget its tenant unnoticed. The tables are
 * the test database's own (information_schema, after every migration), so a new tenant table is covered at once.
 */

/**
 * Deliberate exceptions, each matched by the file and a piece of the statement, with why it is safe. Every entry must
 * still match a statement (a stale one fails), so this list cannot outgrow the code.
 */
const ALLOWED: Array<{ file: string; sql: string; why: string }> = [
  {
    file: 'api-keys.ts',
    // (It joins its tenant for the tenant's disabled flag: that names tenant_id without filtering by it.)
    sql: 'JOIN tenants t ON t.id = k.tenant_id WHERE k.key_id = $1',
    // Authentication, before any tenant is known: the key row names the tenant the request then acts for.
    why: 'authentication looks a key up by its id; the key names its tenant',
  },
  {
    file: 'api-keys.ts',
    sql: 'SELECT 1 FROM api_keys k JOIN tenants t ON t.id = k.tenant_id\n     WHERE k.platform_admin AND',
    // The bootstrap asks whether any tenant has a usable platform admin: a question about the platform, not a tenant.
    why: 'bootstrap checks for a platform-admin key in any tenant',
  },
  {
    file: 'sessions.ts',
    sql: 'FROM sessions WHERE id_sha256 = $1',
    // Authentication by the session cookie, before any tenant is known: like the key lookup, the session row names the
    // tenant the request then acts for (its id is 256 random bits, and only its hash is stored).
    why: 'authentication looks a session up by the hash of its id; the session names its tenant',
  },
];

const DB_DIR = path.join(repoRoot, 'db');

function dbStatements(): SqlStatement[] {
  return fs
    .readdirSync(DB_DIR)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .flatMap((f) => sqlStatements(path.join(DB_DIR, f)));
}

/** The statements that touch a tenant table and do not name tenant_id, less the allowed ones. */
function unfiltered(statements: SqlStatement[], tenantTables: Set<string>): SqlStatement[] {
  return statements.filter(
    (s) =>
      tablesOf(s.sql).some((t) => tenantTables.has(t)) &&
      !/\btenant_id\b/.test(s.sql) &&
      !ALLOWED.some((a) => a.file === s.file && s.sql.includes(a.sql)),
  );
}

describe('db/ queries filter by tenant', function () {
  this.timeout(300_000);
  let tenantTables: Set<string>;

  before(async () => {
    const { pool } = await getTestStack();
    const { rows } = await pool.query<{ table_name: string }>(
      `SELECT DISTINCT table_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND column_name = 'tenant_id'`,
    );
    tenantTables = new Set(rows.map((r) => r.table_name));
  });

  it('finds the tenant tables and the statements of every db/ module that queries', () => {
    // The registry, datasets and keys at least: an empty schema or a broken walk would pass everything below.
    for (const table of ['artifacts', 'datasets', 'models', 'model_versions', 'model_aliases', 'api_keys'])
      expect(tenantTables, table).to.include(table);
    const statements = dbStatements();
    expect(statements.length).to.be.greaterThan(40);
    for (const file of fs.readdirSync(DB_DIR).filter((f) => f.endsWith('.ts'))) {
      // A module writing SQL (pool.ts only sends BEGIN, COMMIT and ROLLBACK).
      if (!/\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b/.test(fs.readFileSync(path.join(DB_DIR, file), 'utf8')))
        continue;
      expect(
        statements.some((s) => s.file === file),
        `${file} writes SQL but no statement was found in it`,
      ).to.equal(true);
    }
  });

  it('would catch a statement without tenant_id (the check can fail)', () => {
    const probe: SqlStatement[] = [
      { file: 'probe.ts', line: 1, sql: 'SELECT * FROM models WHERE id = $1' },
      { file: 'probe.ts', line: 2, sql: 'UPDATE model_versions SET status = $2 WHERE id = $1' },
      { file: 'probe.ts', line: 3, sql: 'SELECT * FROM models WHERE tenant_id = $1 AND id = $2' },
    ];
    expect(unfiltered(probe, tenantTables).map((s) => s.line)).to.deep.equal([1, 2]);
  });

  it('every statement on a tenant table names tenant_id, but for the allowed ones', () => {
    const missing = unfiltered(dbStatements(), tenantTables).map(
      (s) => `${s.file}:${s.line} ${s.sql.replace(/\s+/g, ' ').trim()}`,
    );
    expect(missing, 'statements on tenant tables without tenant_id').to.deep.equal([]);
  });

  it('every allowed exception still exists', () => {
    const statements = dbStatements();
    for (const allowed of ALLOWED)
      expect(
        statements.some((s) => s.file === allowed.file && s.sql.includes(allowed.sql)),
        `${allowed.file}: ${allowed.sql} (${allowed.why})`,
      ).to.equal(true);
  });
});
