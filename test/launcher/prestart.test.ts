import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';

/** CPU seconds in bash's `times` notation (`1m2.345s`). */
const seconds = (time: string) => {
  const [, minutes = '0', secs = '0'] = /^(\d+)m([\d.]+)s$/.exec(time) ?? [];
  return Number(minutes) * 60 + Number(secs);
};

/**
 * Runs `npm run prestart` (what `npm start` runs first) in `cwd`. Resolves with its exit code, wall time and CPU time
 * (user + system of npm and everything it ran, from bash's `times`): CPU time hardly depends on how busy the machine
 * is, wall time does.
 */
function prestart(cwd: string): Promise<{ code: number | null; wallMs: number; cpuMs: number; output: string }> {
  const started = Date.now();
  let output = '';
  const child = spawn('bash', ['-c', 'npm run prestart && times'], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      // `times` prints the shell's own user and system time, then its children's.
      const [user = '', system = ''] = output.trim().split('\n').pop()!.split(' ');
      const cpuMs = Math.round((seconds(user) + seconds(system)) * 1000);
      resolve({ code, wallMs: Date.now() - started, cpuMs, output });
    }),
  );
}

/**
 * `npm start` builds the product first (its prestart script). A restart with nothing changed used to spend most of
 * its 9-11 s in a full `tsc` pass; it must now see that the build is up to date and skip it, while a changed source is
 * still compiled. Runs on a copy of the product sources (same package.json and tsconfigs), not on this checkout.
 */
const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

describe('npm start: the prestart build', function () {
  this.timeout(180_000);
  let copy: string;

  before(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-prestart-'));
    const tsconfig = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tsconfig.json'), 'utf8')) as { include: string[] };
    for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.base.json', ...tsconfig.include]) {
      fs.cpSync(path.join(repoRoot, entry), path.join(copy, entry), { recursive: true, preserveTimestamps: true });
    }
    fs.symlinkSync(fs.realpathSync(path.join(repoRoot, 'node_modules')), path.join(copy, 'node_modules'));
  });
  after(() => fs.rmSync(copy, { recursive: true, force: true }));

  it('skips the TypeScript build when nothing changed, and rebuilds a changed source', async () => {
    const cold = await prestart(copy);
    expect(cold.code, cold.output).to.equal(0);
    const entry = path.join(copy, 'dist', 'launcher', 'start.js');
    const builtAt = fs.statSync(entry).mtimeMs;

    const warm = await prestart(copy);
    expect(warm.code, warm.output).to.equal(0);
    // The prestart build must know the build is current without a type-checking pass (the old `tsc -p` re-checked
    // every file): `tsc -b` decides from its build info, and says so. No timing is asserted; the note has the figures.
    const check = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.json', '--verbose', '--dry'], {
      cwd: copy,
      encoding: 'utf8',
    });
    expect(check.stdout, check.stdout).to.match(/is up to date/);
    expect(check.stdout, check.stdout).not.to.match(/would build project/i);
    expect(fs.statSync(entry).mtimeMs, 'nothing re-emitted').to.equal(builtAt);

    const source = path.join(copy, 'launcher', 'free-port.ts');
    fs.appendFileSync(source, '\n/** A change the next start must compile. */\nexport const PRESTART_PROBE = 42;\n');
    const changed = await prestart(copy);
    expect(changed.code, changed.output).to.equal(0);
    expect(fs.readFileSync(path.join(copy, 'dist', 'launcher', 'free-port.js'), 'utf8')).to.contain(
      'PRESTART_PROBE = 42',
    );
  });
});
