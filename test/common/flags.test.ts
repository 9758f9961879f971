import { expect } from 'chai';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_USAGE, NO_RESTART_EXIT_CODES } from '../../common/exit-codes';
import { ConfigError } from '../../common/config';
import { describeFlags, FlagError, FlagSpec, helpText, parseFlags } from '../../common/flags';
import { exitCodeFor } from '../../common/run-main';

/** What `--help` would print: onHelp throws it, so the test sees it instead of the process exiting. */
class Help extends Error {}
const onHelp = (text: string): never => {
  throw new Help(text);
};

/** The help parseFlags asks for on argv (fails the test when it asks for none). */
function help(argv: string[], spec: FlagSpec, command = {}): string {
  try {
    parseFlags(argv, spec, { command, onHelp });
  } catch (err) {
    if (err instanceof Help) return err.message;
    throw err;
  }
  throw new Error(`parseFlags(${JSON.stringify(argv)}) asked for no help`);
}

describe('common/flags', () => {
  const spec = {
    pool: { value: 'cpu|gpu', help: 'the pool to serve' },
    device: { value: 'N', help: 'the device to pin to' },
  } as const;

  it('reads --name VALUE and --name=VALUE', () => {
    expect(parseFlags(['--pool', 'gpu', '--device=2'], spec)).to.deep.equal({ pool: 'gpu', device: '2' });
    expect(parseFlags([], spec)).to.deep.equal({});
  });

  it('refuses an unknown flag, listing the valid ones', () => {
    expect(() => parseFlags(['--devcie', '1'], spec)).to.throw(
      FlagError,
      /^unknown flag --devcie; valid flags: --pool cpu\|gpu, --device N$/,
    );
    expect(() => parseFlags(['--port', '1'], {})).to.throw(FlagError, /^unknown flag --port; valid flags: none/);
    expect(describeFlags({})).to.match(/environment variables/);
  });

  it('refuses a flag without its value and a positional argument', () => {
    expect(() => parseFlags(['--pool'], spec)).to.throw(
      FlagError,
      /^--pool needs a value \(--pool cpu\|gpu; .*\); valid flags/,
    );
    expect(() => parseFlags(['--device', '-1'], spec)).to.throw(FlagError, /^--device needs a value .*--device=VALUE/);
    expect(() => parseFlags(['gpu'], spec)).to.throw(FlagError, /^unexpected argument "gpu"/);
  });

  it('refuses a flag given twice instead of taking the last one', () => {
    expect(() => parseFlags(['--pool', 'cpu', '--pool', 'gpu'], spec)).to.throw(
      FlagError,
      /^--pool is given 2 times \(cpu, gpu\); give each flag once$/,
    );
    expect(() => parseFlags(['--pool=cpu', '--device', '1', '--pool', 'cpu'], spec)).to.throw(FlagError, /--pool/);
  });

  it('answers -h and --help with the usage: every flag, what it means, the exit statuses', () => {
    const text = help(['--pool', 'gpu', '--help'], spec, { usage: 'npm run worker --', summary: 'One worker.' });
    expect(text).to.match(/^Usage: npm run worker -- \[--pool cpu\|gpu\] \[--device N\]\n/);
    expect(text).to.contain('One worker.');
    expect(text).to.match(/\n {2}--pool cpu\|gpu +the pool to serve\n/);
    expect(text).to.match(/\n {2}--device N +the device to pin to\n/);
    expect(text).to.match(/\n {2}-h, --help +print this help and exit\n/);
    expect(text).to.contain(`${EXIT_USAGE} bad command line, ${EXIT_CONFIG} bad configuration`);
    expect(help(['-h'], spec, { usage: 'npm run worker --', summary: 'One worker.' })).to.equal(text);
    // Help wins over other mistakes on the same line (the user is asking how to fix them), but not after `--`.
    expect(help(['--devcie', '--help'], spec)).to.contain('--device N');
    expect(() => parseFlags(['--', '--help'], spec, { onHelp })).to.throw(FlagError, /unexpected argument "--help"/);
    // An entry point without flags still answers --help, saying so.
    expect(help(['--help'], {})).to.match(/Flags:\n {2}-h, --help +print this help and exit\n/);
    expect(helpText({}, { usage: 'npm run api --' })).to.match(/^Usage: npm run api --\n/);
  });
});

describe('common/exit-codes', () => {
  it('exits 2 for a bad command line, 78 (EX_CONFIG) for a bad configuration, 1 otherwise', () => {
    expect(exitCodeFor(new FlagError('unknown flag --x'))).to.equal(2);
    expect(exitCodeFor(new ConfigError('PORT must be ...'))).to.equal(78);
    expect(exitCodeFor(new Error('connect ECONNREFUSED'))).to.equal(EXIT_FAILURE);
    expect(exitCodeFor('thrown string')).to.equal(EXIT_FAILURE);
    expect([...NO_RESTART_EXIT_CODES].sort()).to.deep.equal([EXIT_USAGE, EXIT_CONFIG].sort());
    expect(NO_RESTART_EXIT_CODES.has(EXIT_FAILURE)).to.equal(false);
  });
});
