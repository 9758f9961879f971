import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { DEV_SERVER_SQLITE_PRAGMAS, sqlitePragmaFlags } from '../../launcher/temporal-sqlite-pragmas';
import { temporalDevServer } from '../../launcher/temporal-dev-server';

describe('Temporal dev server SQLite pragmas', () => {
  it('writes ahead without giving up synchronous commits', () => {
    expect(DEV_SERVER_SQLITE_PRAGMAS.journal_mode).to.equal('wal');
    // FULL: an acknowledged commit survives a power cut (NORMAL or OFF would trade that for speed).
    expect(DEV_SERVER_SQLITE_PRAGMAS.synchronous).to.equal('FULL');
  });

  it('passes each pragma as a --sqlite-pragma flag', () => {
    expect(sqlitePragmaFlags()).to.deep.equal([
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=FULL',
    ]);
  });

  it('the launcher and docker-compose.yml start their dev server with them', () => {
    const compose = fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    const server = temporalDevServer({ cli: '/bin/false', dbFile: '/tmp/unused.sqlite', port: 1, uiPort: 2 });
    const args = server.args.join(' ');
    for (const [name, value] of Object.entries(DEV_SERVER_SQLITE_PRAGMAS)) {
      expect(args).to.include(`--sqlite-pragma ${name}=${value}`);
      expect(compose).to.include(`--sqlite-pragma ${name}=${value}`);
    }
  });
});
