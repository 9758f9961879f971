import { expect } from 'chai';
import { EXIT_CONFIG, EXIT_USAGE } from '../../common/exit-codes';
import { onlyFatalLine, runEntryPoint } from '../support/run-entry-point';

/** Never reached: each run here must stop before it connects to anything. */
const UNREACHABLE_DB = 'postgres://kiln@127.0.0.1:1/kiln';

describe('npm run api: mistakes stop it with one line and a status a supervisor can read', function () {
  this.timeout(120_000);

  it('--help prints the usage and exits 0; any other flag exits 2', async () => {
    const help = await runEntryPoint('api/main.js', ['--help'], {});
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: npm run api --\n/);
    expect(help.stdout).to.contain('HOST:PORT');
    const flag = await runEntryPoint('api/main.js', ['--port', '3902'], { DATABASE_URL: UNREACHABLE_DB });
    expect(onlyFatalLine(flag).msg).to.match(/^unknown flag --port; valid flags: none/);
    expect(flag.code).to.equal(EXIT_USAGE);
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ HOST: '999.1.1.1' }, /\n {2}HOST must be an IP address or a host name of this machine.*, got "999\.1\.1\.1"$/],
    [{ KILN_DECLARED_GPUS: 'not json' }, /\n {2}KILN_DECLARED_GPUS: is not valid JSON/],
    [{ DATABASE_URL: '' }, /^DATABASE_URL is not set/],
  ];
  for (const [env, message] of bad) {
    it(`${JSON.stringify(env)}: exit ${EXIT_CONFIG}, naming the variable`, async () => {
      const run = await runEntryPoint('api/main.js', [], { DATABASE_URL: UNREACHABLE_DB, ...env });
      expect(onlyFatalLine(run).msg).to.match(message);
      expect(run.code).to.equal(EXIT_CONFIG);
    });
  }
});
