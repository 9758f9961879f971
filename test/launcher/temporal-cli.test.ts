import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedCliPath, findTemporalCli, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../../launcher/temporal-cli';

function fakeExecutable(dir: string, name = 'temporal'): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\necho fake\n', { mode: 0o755 });
  return file;
}

describe('Temporal CLI resolution', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('prefers TEMPORAL_CLI over PATH and the cache', () => {
    const explicit = fakeExecutable(path.join(root, 'explicit'));
    const onPath = fakeExecutable(path.join(root, 'bin'));
    const search = { temporalCli: explicit, searchPath: path.dirname(onPath), cacheDir: path.join(root, 'cache') };
    fakeExecutable(path.dirname(cachedCliPath(search.cacheDir)));
    expect(findTemporalCli(search)).to.deep.equal({ path: explicit, source: 'TEMPORAL_CLI' });
  });

  it('rejects a TEMPORAL_CLI that is not executable', () => {
    const search = { temporalCli: path.join(root, 'missing'), searchPath: '', cacheDir: path.join(root, 'cache') };
    expect(() => findTemporalCli(search)).to.throw(/TEMPORAL_CLI/);
  });

  it('uses `temporal` on PATH before the cache', () => {
    const onPath = fakeExecutable(path.join(root, 'bin'));
    const search = {
      searchPath: `${path.join(root, 'empty')}:${path.dirname(onPath)}`,
      cacheDir: path.join(root, 'cache'),
    };
    fakeExecutable(path.dirname(cachedCliPath(search.cacheDir)));
    expect(findTemporalCli(search)).to.deep.equal({ path: onPath, source: 'PATH' });
  });

  it('falls back to the versioned cache outside the repository', () => {
    const search = { searchPath: path.join(root, 'empty'), cacheDir: path.join(root, 'cache') };
    const cached = fakeExecutable(path.dirname(cachedCliPath(search.cacheDir)));
    expect(cached).to.contain(TEMPORAL_CLI_VERSION);
    expect(findTemporalCli(search)).to.deep.equal({ path: cached, source: 'cache' });
  });

  it('says how to install the CLI when nothing is found and Go is missing', async () => {
    const search = { searchPath: path.join(root, 'empty'), cacheDir: path.join(root, 'cache') };
    expect(findTemporalCli(search)).to.equal(undefined);
    let error: Error | undefined;
    await resolveTemporalCli(search, () => undefined).catch((err: Error) => (error = err));
    expect(error?.message)
      .to.match(/TEMPORAL_CLI/)
      .and.to.match(/go install|Go/);
  });
});
