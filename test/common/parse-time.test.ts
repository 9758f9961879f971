import { expect } from 'chai';
import { parseTime, parseTimeMs } from '../../common/parse-time';

describe('common/parse-time', () => {
  it('reads ISO-8601 with a zone, a date alone (UTC midnight) and epoch milliseconds', () => {
    expect(parseTimeMs('2026-11-30T09:00:15Z')).to.equal(Date.UTC(2026, 10, 30, 9, 0, 15));
    expect(parseTimeMs('2026-11-30T09:00:15.123Z')).to.equal(Date.UTC(2026, 10, 30, 9, 0, 15, 123));
    expect(parseTimeMs('2026-11-30 10:00:15+01:00')).to.equal(Date.UTC(2026, 10, 30, 9, 0, 15));
    expect(parseTimeMs('2026-11-30T10:00+0100')).to.equal(Date.UTC(2026, 10, 30, 9, 0, 0));
    expect(parseTimeMs('2026-11-30')).to.equal(Date.UTC(2026, 10, 30));
    expect(parseTimeMs('1764493215000')).to.equal(1764493215000);
    // Nanoseconds as some exporters write them: cut to milliseconds.
    expect(parseTimeMs('2026-11-30T09:00:15.123456789Z')).to.equal(Date.UTC(2026, 10, 30, 9, 0, 15, 123));
  });

  it('refuses a time without a zone, and days and times that do not exist instead of rolling them over', () => {
    for (const bad of [
      '2026-11-30T09:00:15',
      '2026-02-29T00:00:00Z', // 2026 is no leap year
      '2026-02-30',
      '2026-13-01',
      '2026-04-31T00:00:00Z',
      '2026-11-30T24:00:00Z',
      '2026-11-30T23:60:00Z',
      '2026-11-30T23:59:60Z',
      'yesterday',
      '',
      '1.5',
      '-1',
    ]) {
      expect(parseTimeMs(bad), bad).to.be.NaN;
      expect(parseTime(bad), bad).to.equal(undefined);
    }
    expect(parseTimeMs('2028-02-29T00:00:00Z')).to.equal(Date.UTC(2028, 1, 29));
  });
});
