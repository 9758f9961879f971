import { expect } from 'chai';
import * as net from 'node:net';
import { EXIT_CONFIG, EXIT_USAGE } from '../../common/exit-codes';
import { onlyFatalLine, runEntryPoint } from '../support/run-entry-point';

/** Never reached: each run here must stop before it connects to anything. */
const UNREACHABLE_DB = 'postgres://kiln@127.0.0.1:1/kiln';

describe('npm run worker: mistakes stop it with one line and a status a supervisor can read', function () {
  this.timeout(120_000);

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown pool', ['--pool', 'tpu'], /^unknown pool "tpu" for --pool: use cpu or gpu$/],
    ['a concurrency of 0', ['--concurrency', '0'], /^--concurrency must be a positive integer, got "0"$/],
    ['a negative concurrency', ['--concurrency=-1'], /^--concurrency must be a positive integer, got "-1"$/],
    ['a fractional concurrency', ['--concurrency', '1.5'], /^--concurrency must be a positive integer, got "1\.5"$/],
    ['a repeated flag', ['--pool', 'cpu', '--pool', 'gpu'], /^--pool is given 2 times \(cpu, gpu\)/],
    ['an unknown flag', ['--devcie', '1'], /^unknown flag --devcie; valid flags: --pool cpu\|gpu/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what} (${args.join(' ')}): exit ${EXIT_USAGE}`, async () => {
      const run = await runEntryPoint('workers/main.js', args, { DATABASE_URL: UNREACHABLE_DB });
      expect(onlyFatalLine(run).msg).to.match(message);
      expect(run.code).to.equal(EXIT_USAGE);
    });
  }

  it('--help prints the flags and what they mean, and exits 0 even with a broken environment', async () => {
    const run = await runEntryPoint('workers/main.js', ['--help'], { KILN_POOL: 'tpu' });
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.match(/^Usage: npm run worker -- \[--pool cpu\|gpu\]/);
    expect(run.stdout).to.match(/\n {2}--concurrency N +activities run at once/);
  });

  it(`a malformed KILN_DECLARED_GPUS: exit ${EXIT_CONFIG}, naming the variable`, async () => {
    for (const [value, message] of [
      ['not json', /^invalid configuration:\n {2}KILN_DECLARED_GPUS: is not valid JSON/],
      ['@/nonexistent.json', /KILN_DECLARED_GPUS \(\/nonexistent\.json\): cannot read the declaration file/],
    ] as const) {
      const run = await runEntryPoint('workers/main.js', [], {
        DATABASE_URL: UNREACHABLE_DB,
        KILN_DECLARED_GPUS: value,
      });
      expect(onlyFatalLine(run).msg).to.match(message);
      expect(run.code).to.equal(EXIT_CONFIG);
    }
  });

  it(`a device the declaration lacks: exit ${EXIT_CONFIG}`, async () => {
    const run = await runEntryPoint('workers/main.js', ['--pool', 'gpu', '--device', '1'], {
      DATABASE_URL: UNREACHABLE_DB,
      KILN_DECLARED_GPUS: '[{"name":"Tesla T4","memoryTotalMb":1024}]',
    });
    expect(onlyFatalLine(run).msg).to.equal(
      '--device / KILN_GPU_DEVICE 1 is not a device KILN_DECLARED_GPUS declares (found: 0 Tesla T4)',
    );
    expect(run.code).to.equal(EXIT_CONFIG);
  });

  it(`a metrics port in use: exit ${EXIT_CONFIG} before it connects, naming KILN_WORKER_METRICS_PORT`, async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const run = await runEntryPoint('workers/main.js', [], {
        DATABASE_URL: UNREACHABLE_DB,
        KILN_WORKER_METRICS_PORT: String(port),
      });
      expect(onlyFatalLine(run).msg).to.equal(
        `port ${port} on 127.0.0.1 is in use: set KILN_WORKER_METRICS_PORT to a free port (0: any free one)`,
      );
      expect(run.code).to.equal(EXIT_CONFIG);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
