import { expect } from 'chai';
import { loadMigrations, migrate } from '../../migrations/migrator';
import { getTestStack } from '../support/test-stack';

describe('migrations', function () {
  it('are numbered from 1 without gaps', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).to.deep.equal(migrations.map((_, i) => i + 1));
  });

  it('applying them again is harmless', async function () {
    this.timeout(300_000);
    const { pool } = await getTestStack();
    expect(await migrate(pool)).to.deep.equal([]);
    const { rows } = await pool.query('SELECT version FROM kiln_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).to.deep.equal(loadMigrations().map((m) => m.version));
  });

  it('run concurrently, apply each migration once', async function () {
    const { pool } = await getTestStack();
    const results = await Promise.all([migrate(pool), migrate(pool), migrate(pool)]);
    expect(results.flat()).to.deep.equal([]);
  });
});
