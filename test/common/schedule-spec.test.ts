import { expect } from 'chai';
import { CalendarSyntaxError, fieldValues, parseCalendar, parseCron } from '../../common/schedule/calendar';
import { formatDurationMs, parseDurationMs } from '../../common/schedule/duration';
import { nextFireTimes } from '../../common/schedule/fire-times';
import {
  formatLocal,
  instantsOf,
  isTimeZone,
  offsetMs,
  wallAsUtcMs,
  zoneSpelling,
} from '../../common/schedule/time-zone';
import { compileSpec } from '../../api/services/schedule-spec';
import { ValidationError } from '../../common/errors';

const iso = (t: number) => new Date(t).toISOString();

describe('schedule specs (common/schedule)', () => {
  describe('cron strings, with Temporal grammar', () => {
    it('reads 5, 6 and 7 fields, names, ranges, steps and shorthands', () => {
      const five = parseCron('30 2 * * MON-FRI');
      expect(fieldValues(five.minute)).to.deep.equal([30]);
      expect(fieldValues(five.hour)).to.deep.equal([2]);
      expect(fieldValues(five.second)).to.deep.equal([0]);
      expect(fieldValues(five.dayOfWeek)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(fieldValues(parseCron('*/15 * * * *').minute)).to.deep.equal([0, 15, 30, 45]);
      expect(fieldValues(parseCron('5/20 * * * *').minute)).to.deep.equal([5, 25, 45]);
      expect(fieldValues(parseCron('0 0 1 jan,Jul * 2030').month)).to.deep.equal([1, 7]);
      expect(fieldValues(parseCron('0 0 1 1 * 2030').year)).to.deep.equal([2030]);
      expect(fieldValues(parseCron('*/10 0 0 * * * *').second)).to.deep.equal([0, 10, 20, 30, 40, 50]);
      expect(fieldValues(parseCron('@daily').hour)).to.deep.equal([0]);
      expect(fieldValues(parseCron('@weekly').dayOfWeek)).to.deep.equal([0]);
    });

    it('refuses what Temporal refuses or would read differently, naming the field', () => {
      const bad: Array<[string, string | undefined]> = [
        ['61 * * * *', 'minute'],
        ['* 24 * * *', 'hour'],
        ['0 0 0 * *', 'dayOfMonth'],
        ['0 0 * 13 *', 'month'],
        ['0 0 * * 7', 'dayOfWeek'],
        ['0 0 * * FUNDAY', 'dayOfWeek'],
        ['0 0 * * M', 'dayOfWeek'],
        ['5-1 * * * *', 'minute'],
        ['*/0 * * * *', 'minute'],
        ['0 0 * * * 1999', 'year'],
        ['* * * *', undefined],
        ['TZ=Europe/Berlin 0 3 * * *', undefined],
        ['@every 1h', undefined],
        ['0 3 * * * # nightly', undefined],
        ['@fortnightly', undefined],
      ];
      for (const [cron, field] of bad) {
        let caught: unknown;
        try {
          parseCron(cron);
        } catch (err) {
          caught = err;
        }
        expect(caught, cron).to.be.instanceOf(CalendarSyntaxError);
        expect((caught as CalendarSyntaxError).field, cron).to.equal(field);
      }
    });

    it('calendar fields default like Temporal: second, minute, hour 0, the rest every value', () => {
      const cal = parseCalendar({ hour: '3', dayOfWeek: 'SAT' });
      expect(fieldValues(cal.second)).to.deep.equal([0]);
      expect(fieldValues(cal.minute)).to.deep.equal([0]);
      expect(fieldValues(cal.dayOfMonth)).to.have.length(31);
      expect(fieldValues(cal.dayOfWeek)).to.deep.equal([6]);
    });
  });

  it('durations: units ms to d, compound, no sign', () => {
    expect(parseDurationMs('10m')).to.equal(600_000);
    expect(parseDurationMs('1h30m')).to.equal(5_400_000);
    expect(parseDurationMs('1.5s')).to.equal(1500);
    for (const bad of ['', '-1h', '5 minutes', '1w', 'h', '10']) expect(parseDurationMs(bad), bad).to.equal(undefined);
    expect(formatDurationMs(600_000)).to.equal('10m');
    expect(formatDurationMs(5_400_000)).to.equal('1h30m');
    expect(formatDurationMs(86_400_000 + 1000)).to.equal('1d1s');
  });

  it('time zones: IANA names only; offsets, gaps and repeats from the tz database', () => {
    for (const zone of ['Europe/Berlin', 'America/Los_Angeles', 'UTC', 'US/Pacific'])
      expect(isTimeZone(zone), zone).to.be.true;
    for (const zone of ['Mars/Olympus', '+01:00', 'Europe/Berlin ', '', 'Europe//Berlin', 'europe/berlin', 'utc'])
      expect(isTimeZone(zone), zone).to.be.false;
    // Temporal loads zones case-sensitively: the IANA spelling is the suggestion.
    expect(zoneSpelling('europe/berlin')).to.equal('Europe/Berlin');
    expect(zoneSpelling('utc')).to.equal('UTC');
    expect(zoneSpelling('us/pacific')).to.equal('America/Los_Angeles');
    expect(zoneSpelling('Mars/Olympus')).to.equal(undefined);
    expect(offsetMs('Europe/Berlin', Date.parse('2027-07-01T00:00:00Z'))).to.equal(2 * 3_600_000);
    expect(offsetMs('Europe/Berlin', Date.parse('2027-01-01T00:00:00Z'))).to.equal(3_600_000);
    const wall = (day: number, month: number) => ({ year: 2027, month, day, hour: 2, minute: 30, second: 0 });
    expect(instantsOf('Europe/Berlin', wall(28, 3))).to.deep.equal([]); // spring forward: 02:00 → 03:00
    expect(instantsOf('Europe/Berlin', wall(31, 10)).map(iso)).to.deep.equal([
      '2027-10-31T00:30:00.000Z',
      '2027-10-31T01:30:00.000Z',
    ]);
    expect(instantsOf('Europe/Berlin', wall(27, 3)).map(iso)).to.deep.equal(['2027-03-27T01:30:00.000Z']);
    expect(formatLocal('Europe/Berlin', Date.parse('2027-03-28T01:30:00Z'))).to.equal('2027-03-28T03:30:00+02:00');
    expect(formatLocal('America/Los_Angeles', Date.parse('2027-01-01T17:00:00Z'))).to.equal(
      '2027-01-01T09:00:00-08:00',
    );
  });

  describe('fire times', () => {
    const fire = (spec: Parameters<typeof compileSpec>[0]) => compileSpec(spec).fire;

    it('skips a local time in the spring-forward gap and warns about it', () => {
      const { times, warnings } = nextFireTimes(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        Date.parse('2027-03-26T00:00:00Z'),
        4,
      );
      expect(times.map(iso)).to.deep.equal([
        '2027-03-26T01:30:00.000Z',
        '2027-03-27T01:30:00.000Z',
        '2027-03-29T00:30:00.000Z',
        '2027-03-30T00:30:00.000Z',
      ]);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include({ kind: 'gap', localTime: '2027-03-28T02:30:00' });
    });

    it('fires once, as Temporal (Go time.Date) does, at a local time the fall-back repeats, and warns', () => {
      const { times, warnings } = nextFireTimes(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        Date.parse('2027-10-30T12:00:00Z'),
        3,
      );
      // East of UTC the second occurrence (CET), as the tester saw Temporal fire.
      expect(times.map(iso)).to.deep.equal([
        '2027-10-31T01:30:00.000Z',
        '2027-11-01T01:30:00.000Z',
        '2027-11-02T01:30:00.000Z',
      ]);
      expect(warnings.map((w) => [w.kind, w.localTime])).to.deep.equal([['repeat', '2027-10-31T02:30:00']]);
      expect(warnings[0].message).to.include('Temporal runs once, at 2027-10-31T01:30:00.000Z');
      const ranged = nextFireTimes(
        fire({ cron: ['15 1-3 * * *'], timezone: 'Europe/Berlin' }),
        Date.parse('2027-10-30T22:00:00Z'),
        3,
      );
      expect(ranged.times.map(iso)).to.deep.equal([
        '2027-10-30T23:15:00.000Z',
        '2027-10-31T01:15:00.000Z',
        '2027-10-31T02:15:00.000Z',
      ]);
      // West of UTC the first (EDT): Go takes the offset at the wall time read as UTC.
      const ny = nextFireTimes(
        fire({ cron: ['30 1 * * *'], timezone: 'America/New_York' }),
        Date.parse('2027-11-06T12:00:00Z'),
        2,
      );
      expect(ny.times.map(iso)).to.deep.equal(['2027-11-07T05:30:00.000Z', '2027-11-08T06:30:00.000Z']);
    });

    it('a zone shifts calendar times by its offset; intervals count from the epoch with their offset', () => {
      const after = Date.parse('2027-01-10T00:00:00Z');
      const utc = nextFireTimes(fire({ cron: ['0 9 * * *'], timezone: 'UTC' }), after, 3).times;
      const la = nextFireTimes(fire({ cron: ['0 9 * * *'], timezone: 'America/Los_Angeles' }), after, 3).times;
      la.forEach((t, i) => expect(t - utc[i]).to.equal(-offsetMs('America/Los_Angeles', t)));
      const every = nextFireTimes(fire({ intervals: [{ every: '1h', offset: '5m' }] }), after, 2).times;
      expect(every.map(iso)).to.deep.equal(['2027-01-10T00:05:00.000Z', '2027-01-10T01:05:00.000Z']);
    });

    it('day of month AND day of week (not classic cron OR); startAt and endAt bound the times', () => {
      const fridays13 = nextFireTimes(
        fire({ cron: ['0 0 13 * FRI'], timezone: 'UTC' }),
        Date.parse('2027-01-01T00:00:00Z'),
        2,
      );
      expect(fridays13.times.map(iso)).to.deep.equal(['2027-08-13T00:00:00.000Z', '2028-10-13T00:00:00.000Z']);
      const bounded = nextFireTimes(
        fire({
          intervals: [{ every: '1d' }],
          startAt: '2027-02-01T00:00:00Z',
          endAt: '2027-02-03T00:00:00Z',
        }),
        Date.parse('2027-01-01T00:00:00Z'),
        10,
      );
      expect(bounded.times.map(iso)).to.deep.equal([
        '2027-02-01T00:00:00.000Z',
        '2027-02-02T00:00:00.000Z',
        '2027-02-03T00:00:00.000Z',
      ]);
    });
  });

  it('wall times of years 0-99 stay in their year (Date.UTC would read them as 19xx)', () => {
    const t = wallAsUtcMs({ year: 1, month: 1, day: 2, hour: 3, minute: 4, second: 5 });
    expect(new Date(t).toISOString()).to.equal('0001-01-02T03:04:05.000Z');
    expect(formatLocal('Europe/Berlin', Date.parse('0050-06-01T00:00:00Z')).slice(0, 4)).to.equal('0050');
  });

  it('compileSpec names the field at fault', () => {
    const cases: Array<[Parameters<typeof compileSpec>[0], string]> = [
      [{ cron: ['0 3 * * *', '99 * * * *'], timezone: 'UTC' }, 'spec.cron[1]'],
      [{ cron: ['0 3 * * *'] }, 'spec.timezone'],
      [{ cron: ['0 3 * * *'], timezone: 'Europe/Atlantis' }, 'spec.timezone'],
      [{ intervals: [{ every: '-1h' }] }, 'spec.intervals[0].every'],
      [{ intervals: [{ every: '0s' }] }, 'spec.intervals[0].every'],
      [{ intervals: [{ every: '1500ms' }] }, 'spec.intervals[0].every'],
      [{ intervals: [{ every: '1h', offset: '1h' }] }, 'spec.intervals[0].offset'],
      [{ calendars: [{ hour: '25' }], timezone: 'UTC' }, 'spec.calendars[0].hour'],
      [{ intervals: [{ every: '1h' }], startAt: '2027-01-02T00:00:00Z', endAt: '2027-01-01T00:00:00Z' }, 'spec.endAt'],
      [{ intervals: [{ every: '1h' }], jitter: 'soon' }, 'spec.jitter'],
      [{}, 'spec'],
    ];
    for (const [spec, field] of cases) {
      let caught: unknown;
      try {
        compileSpec(spec);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(spec)).to.be.instanceOf(ValidationError);
      expect((caught as ValidationError).field, JSON.stringify(spec)).to.equal(field);
    }
    const message = (spec: Parameters<typeof compileSpec>[0]) => {
      try {
        compileSpec(spec);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    expect(message({ intervals: [{ every: '99999999999999999999d' }] })).to.include('out of range');
    expect(message({ calendars: [{ hour: -1 }], timezone: 'UTC' })).to.include('-1 is out of range (0 to 23)');
    expect(message({ cron: ['0 3 * * *'], timezone: 'europe/berlin' })).to.include('did you mean "Europe/Berlin"');
    const calendar = compileSpec({ calendars: [{ hour: 3, minute: '30', dayOfWeek: 'MON-FRI' }], timezone: 'UTC' });
    expect(calendar.temporal.cronExpressions).to.deep.equal(['0 30 3 * * MON-FRI *']);
  });
});
