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
    const env = { TEMPORAL_CLI: explicit, PATH: path.dirname(onPath), KILN_CACHE_DIR: path.join(root, 'cache') };
    fakeExecutable(path.dirname(cachedCliPath(env)));
    expect(findTemporalCli(env)).to.deep.equal({ path: explicit, source: 'TEMPORAL_CLI' });
  });

  it('rejects a TEMPORAL_CLI that is not executable', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI: path.join(root, 'missing') })).to.throw(/TEMPORAL_CLI/);
  });

  it('uses `temporal` on PATH before the cache', () => {
    const onPath = fakeExecutable(path.join(root, 'bin'));
    const env = {
      PATH: `${path.join(root, 'empty')}:${path.dirname(onPath)}`,
      KILN_CACHE_DIR: path.join(root, 'cache'),
    };
    fakeExecutable(path.dirname(cachedCliPath(env)));
    expect(findTemporalCli(env)).to.deep.equal({ path: onPath, source: 'PATH' });
  });

  it('falls back to the versioned cache outside the repository', () => {
    const env = { PATH: path.join(root, 'empty'), KILN_CACHE_DIR: path.join(root, 'cache') };
    const cached = fakeExecutable(path.dirname(cachedCliPath(env)));
    expect(cached).to.contain(TEMPORAL_CLI_VERSION);
    expect(findTemporalCli(env)).to.deep.equal({ path: cached, source: 'cache' });
  });

  it('says how to install the CLI when nothing is found and Go is missing', async () => {
    const env = { PATH: path.join(root, 'empty'), KILN_CACHE_DIR: path.join(root, 'cache') };
    expect(findTemporalCli(env)).to.equal(undefined);
    let error: Error | undefined;
    await resolveTemporalCli(env, () => undefined).catch((err: Error) => (error = err));
    expect(error?.message)
      .to.match(/TEMPORAL_CLI/)
      .and.to.match(/go install|Go/);
  });
});
