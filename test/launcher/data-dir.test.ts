import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareDataDir } from '../../launcher/data-dir';

const modeOf = (p: string) => fs.statSync(p).mode & 0o7777;

describe('launcher: the data directory keeps tenant data from other users', () => {
  let root: string;
  let logged: string[];
  const log = (line: string) => void logged.push(line);
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-data-dir-'));
    logged = [];
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a missing one 0711 (traversable, not listable), whatever the umask', () => {
    const dir = path.join(root, 'a', '.kiln');
    const previous = process.umask(0o077);
    try {
      prepareDataDir(dir, log);
    } finally {
      process.umask(previous);
    }
    expect(modeOf(dir).toString(8)).to.equal('711');
    expect(logged).to.deep.equal([]);
  });

  it('tightens an existing 0755 one to 0711 and earlier 0644 files to 0600, and says so', () => {
    fs.chmodSync(root, 0o755);
    for (const name of ['temporal.sqlite', 'temporal.sqlite-wal', 'launcher.pids', 'other.txt']) {
      fs.writeFileSync(path.join(root, name), 'x');
      fs.chmodSync(path.join(root, name), 0o644);
    }
    prepareDataDir(root, log);
    expect(modeOf(root).toString(8)).to.equal('711');
    expect(modeOf(path.join(root, 'temporal.sqlite')).toString(8)).to.equal('600');
    expect(modeOf(path.join(root, 'temporal.sqlite-wal')).toString(8)).to.equal('600');
    expect(modeOf(path.join(root, 'launcher.pids')).toString(8)).to.equal('600');
    expect(modeOf(path.join(root, 'other.txt')).toString(8), 'not a file the launcher knows').to.equal('644');
    expect(logged).to.have.length(4);
    expect(logged[0]).to.equal(`made ${root} 0711 (was 0755): it holds every tenant's data`);
    // A second start has nothing left to change.
    logged = [];
    prepareDataDir(root, log);
    expect(logged).to.deep.equal([]);
  });

  it('keeps the x bits (0750 becomes 0710) and leaves a shared sticky folder alone, with a warning', () => {
    fs.chmodSync(root, 0o750);
    prepareDataDir(root, log);
    expect(modeOf(root).toString(8)).to.equal('710');
    const shared = path.join(root, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    const levels: string[] = [];
    prepareDataDir(shared, (_line, level) => void levels.push(level));
    expect(modeOf(shared).toString(8)).to.equal('1777');
    expect(levels).to.deep.equal(['warn']);
  });
});
