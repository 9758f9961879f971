import { loadConfig } from '../../common/config';
import { DEFAULT_LIMITS, formatBytes } from '../../datasets/limits';

/** The limits an API process gets from this environment (common/config.ts). */
const limitsFromEnv = (env: Record<string, string>) => loadConfig(env).api.limits;

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

describe('datasets/limits', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_LIMITS).to.deep.equal({
      maxBodyBytes: 64 * 1024 * 1024,
      maxRows: 1_000_000,
      maxColumns: 1024,
      maxCells: 10_000_000,
      maxLevels: 100_000,
    });
  });

  it('uses the defaults when nothing is set', () => {
    expect(limitsFromEnv({})).to.deep.equal(DEFAULT_LIMITS);
    expect(limitsFromEnv({ KILN_MAX_ROWS: '', KILN_MAX_CELLS: '  ' })).to.deep.equal(DEFAULT_LIMITS);
  });

  it('reads every limit from its environment variable', () => {
    expect(
      limitsFromEnv({
        KILN_MAX_BODY_BYTES: '1048576',
        KILN_MAX_ROWS: '1_000',
        KILN_MAX_COLUMNS: ' 8 ',
        KILN_MAX_CELLS: '8000',
        KILN_MAX_LEVELS: '50',
      }),
    ).to.deep.equal({ maxBodyBytes: 1048576, maxRows: 1000, maxColumns: 8, maxCells: 8000, maxLevels: 50 });
  });

  for (const bad of ['abc', '0', '-5', '1.5', '1e6', '99999999999999999999']) {
    it(`refuses KILN_MAX_ROWS=${JSON.stringify(bad)} naming the variable`, () => {
      expect(() => limitsFromEnv({ KILN_MAX_ROWS: bad })).to.throw(Error, /KILN_MAX_ROWS must be a positive integer/);
    });
  }

  it('formats byte limits for messages', () => {
    expect(formatBytes(64 * 1024 * 1024)).to.equal('67,108,864 bytes (64 MiB)');
    expect(formatBytes(1536)).to.equal('1,536 bytes (1.5 KiB)');
    expect(formatBytes(100)).to.equal('100 bytes');
  });
});
