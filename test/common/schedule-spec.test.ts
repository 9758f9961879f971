import { expect } from 'chai';
import { CalendarSyntaxError, fieldValues, parseCalendar, parseCron } from '../../common/schedule/calendar';
import { formatDurationMs, parseDurationMs, readDuration } from '../../common/schedule/duration';
import { dstWarnings, MAX_DST_WARNINGS } from '../../common/schedule/dst-warnings';
import { mayFireAt } from '../../common/schedule/fires-at';
import {
  fixedOffsetWarning,
  formatLocal,
  instantsOf,
  isTimeZone,
  offsetChanges,
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
        ['0 0 * * 8', 'dayOfWeek'],
        ['*/99999999999999999999 * * * *', 'minute'],
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

    it('day of week 7 is Sunday, as in Temporal (alone, in ranges, and reached by a step)', () => {
      expect(fieldValues(parseCron('0 3 * * 7').dayOfWeek)).to.deep.equal([0]);
      expect(fieldValues(parseCron('0 3 * * 5-7').dayOfWeek)).to.deep.equal([0, 5, 6]);
      expect(fieldValues(parseCron('0 3 * * 1/2').dayOfWeek)).to.deep.equal([0, 1, 3, 5]);
      expect(fieldValues(parseCron('0 3 * * *').dayOfWeek)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
      expect(fieldValues(parseCalendar({ dayOfWeek: 7 }).dayOfWeek)).to.deep.equal([0]);
    });

    it('a step too large for Temporal is refused with a message saying so', () => {
      let caught: unknown;
      try {
        parseCron('*/99999999999999999999 * * * *');
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).message).to.include('too large');
      expect(fieldValues(parseCron('*/100 * * * *').minute)).to.deep.equal([0]);
    });

    it('calendar fields default like Temporal: second, minute, hour 0, the rest every value', () => {
      const cal = parseCalendar({ hour: '3', dayOfWeek: 'SAT' });
      expect(fieldValues(cal.second)).to.deep.equal([0]);
      expect(fieldValues(cal.minute)).to.deep.equal([0]);
      expect(fieldValues(cal.dayOfMonth)).to.have.length(31);
      expect(fieldValues(cal.dayOfWeek)).to.deep.equal([6]);
    });
  });

  it('durations: units ms to d, compound, each unit once, whole milliseconds, no sign', () => {
    expect(parseDurationMs('10m')).to.equal(600_000);
    expect(parseDurationMs('1h30m')).to.equal(5_400_000);
    expect(parseDurationMs('1.5s')).to.equal(1500);
    expect(parseDurationMs('0.1s')).to.equal(100);
    expect(parseDurationMs('0.001s')).to.equal(1);
    expect(parseDurationMs('1.5m')).to.equal(90_000);
    for (const bad of ['', '-1h', '5 minutes', '1w', 'h', '10', '1m1m', '1h30m1h', '1.0000000001s', '1.5ms', '0.0001s'])
      expect(parseDurationMs(bad), bad).to.equal(undefined);
    expect(readDuration('1m1m')).to.deep.equal({ problem: 'the unit m appears twice (write "1h30m", not "1h1h")' });
    expect(readDuration('1.0000000001s')).to.deep.equal({ problem: '1.0000000001s is finer than a millisecond' });
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
    // Names that are fixed offsets get a warning; places and UTC do not.
    expect(fixedOffsetWarning('Etc/GMT+3')).to.include('UTC-03:00 all year');
    expect(fixedOffsetWarning('Etc/GMT+3')).to.include('3 hours behind UTC');
    expect(fixedOffsetWarning('Etc/GMT-14')).to.include('UTC+14:00');
    expect(fixedOffsetWarning('EST')).to.include('UTC-05:00 all year').and.include('America/New_York');
    for (const zone of ['UTC', 'Etc/UTC', 'Etc/GMT', 'Etc/GMT+0', 'Europe/Berlin', 'Asia/Tokyo', 'EST5EDT'])
      expect(fixedOffsetWarning(zone), zone).to.equal(undefined);
  });

  describe('DST warnings, on the fire times Temporal reports (as its dev server 1.29 answered them)', () => {
    const fire = (spec: Parameters<typeof compileSpec>[0]) => compileSpec(spec).fire;
    const at = (...times: string[]) => times.map((t) => Date.parse(t));
    const range = (after: string, until: string, covered = Infinity) => ({
      after: Date.parse(after),
      until: Date.parse(until),
      covered,
    });

    it('a local time in the spring-forward gap: one warning for the skipped hour, no run at it', () => {
      const { warnings, omitted } = dstWarnings(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-03-26T01:30:00Z', '2027-03-27T01:30:00Z', '2027-03-29T00:30:00Z', '2027-03-30T00:30:00Z'),
        range('2027-03-26T00:00:00Z', '2027-03-30T00:30:00Z'),
      );
      expect(omitted).to.equal(0);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.deep.include({
        kind: 'gap',
        localTime: '2027-03-28T02:30:00',
        localInterval: { start: '2027-03-28T02:00:00', end: '2027-03-28T03:00:00' },
        changeAt: '2027-03-28T01:00:00.000Z',
        named: { count: 1, examples: ['2027-03-28T02:30:00'] },
      });
      expect(warnings[0].message).to.include('no run at those local times');
      expect(warnings[0].message).to.not.include('also runs');
      expect(warnings[0]).to.not.have.property('runs');
    });

    it('a repeated hour: its two passes and how many runs Temporal makes in each, one, both or neither', () => {
      const berlin = dstWarnings(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-31T01:30:00Z', '2027-11-01T01:30:00Z', '2027-11-02T01:30:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-02T01:30:00Z'),
      ).warnings;
      expect(berlin).to.deep.equal([
        {
          kind: 'repeat',
          localTime: '2027-10-31T02:30:00',
          localInterval: { start: '2027-10-31T02:00:00', end: '2027-10-31T03:00:00' },
          changeAt: '2027-10-31T01:00:00.000Z',
          named: { count: 1, examples: ['2027-10-31T02:30:00'] },
          passes: [
            { start: '2027-10-31T00:00:00.000Z', end: '2027-10-31T01:00:00.000Z' },
            { start: '2027-10-31T01:00:00.000Z', end: '2027-10-31T02:00:00.000Z' },
          ],
          runs: { firstPass: 0, secondPass: 1, examples: ['2027-10-31T01:30:00.000Z'] },
          message:
            '2027-10-31T02:00:00 to 2027-10-31T03:00:00 occurs twice in Europe/Berlin (the clocks go back at ' +
            '2027-10-31T01:00:00.000Z: 2027-10-31T00:00:00.000Z to 2027-10-31T01:00:00.000Z, then again to ' +
            '2027-10-31T02:00:00.000Z): the spec names 1 local time in it (2027-10-31T02:30:00); Temporal runs 0 ' +
            'times in the first pass and 1 in the second (2027-10-31T01:30:00.000Z)',
        },
      ]);
      // `15 1-3`: Temporal runs the first 02:15 (CEST), unlike `30 2` above.
      const ranged = dstWarnings(
        fire({ cron: ['15 1-3 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-30T23:15:00Z', '2027-10-31T00:15:00Z', '2027-10-31T02:15:00Z', '2027-11-01T00:15:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-01T00:15:00Z'),
      ).warnings;
      expect(ranged.map((w) => [w.kind, w.localTime, w.runs])).to.deep.equal([
        ['repeat', '2027-10-31T02:15:00', { firstPass: 1, secondPass: 0, examples: ['2027-10-31T00:15:00.000Z'] }],
      ]);
      // New York: both 01:30s run.
      const ny = dstWarnings(
        fire({ cron: ['30 1 * * *'], timezone: 'America/New_York' }),
        at('2027-11-06T05:30:00Z', '2027-11-07T05:30:00Z', '2027-11-07T06:30:00Z', '2027-11-08T06:30:00Z'),
        range('2027-11-06T00:00:00Z', '2027-11-08T06:30:00Z'),
      ).warnings;
      expect(ny.map((w) => w.runs)).to.deep.equal([
        { firstPass: 1, secondPass: 1, examples: ['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z'] },
      ]);
    });

    it('several named local times in one repeated hour are one warning; a run Temporal moved to an unnamed local time is named', () => {
      // `*/30 2`: Temporal runs the second 02:00 (01:00Z), then 03:30 CET (02:30Z), which the cron does not name.
      const { warnings } = dstWarnings(
        fire({ cron: ['*/30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-31T01:00:00Z', '2027-10-31T02:30:00Z', '2027-11-01T01:00:00Z', '2027-11-01T01:30:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-01T01:30:00Z'),
      );
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.deep.include({
        localTime: '2027-10-31T02:00:00',
        named: { count: 2, examples: ['2027-10-31T02:00:00', '2027-10-31T02:30:00'] },
        runs: { firstPass: 0, secondPass: 1, examples: ['2027-10-31T01:00:00.000Z'] },
        moved: { count: 1, examples: ['2027-10-31T03:30:00+01:00'] },
      });
      expect(warnings[0].message).to.include(
        'that day Temporal also runs at 2027-10-31T03:30:00+01:00, a local time the spec does not name',
      );
    });

    it('every second of a repeated hour: one warning counting them, a few examples, a small answer', () => {
      // The breaker's spec: every second of 02:00-02:59 on the last Sunday of October, Berlin (3,600 local times).
      const spec = fire({
        calendars: [{ second: '*', minute: '*', hour: '2', dayOfMonth: '25-31', month: '10', dayOfWeek: 'SUN' }],
        timezone: 'Europe/Berlin',
      });
      const first = Date.parse('2027-10-31T00:00:00Z');
      const both = Array.from({ length: 7200 }, (_, i) => first + i * 1000);
      const { warnings, omitted } = dstWarnings(spec, both, range('2027-10-30T00:00:00Z', '2027-11-01T00:00:00Z'));
      expect(omitted).to.equal(0);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.deep.include({
        kind: 'repeat',
        named: { count: 3600, examples: ['2027-10-31T02:00:00', '2027-10-31T02:00:01', '2027-10-31T02:00:02'] },
        runs: {
          firstPass: 3600,
          secondPass: 3600,
          examples: ['2027-10-31T00:00:00.000Z', '2027-10-31T00:00:01.000Z', '2027-10-31T00:00:02.000Z'],
        },
      });
      expect(JSON.stringify(warnings).length).to.be.below(2000);

      // A preview of 5 times: only the named local times up to the fifth count.
      const five = dstWarnings(spec, both.slice(0, 1000), {
        after: Date.parse('2027-10-30T00:00:00Z'),
        until: both[4],
        covered: both[999],
      }).warnings;
      expect(five.map((w) => [w.named.count, w.runs])).to.deep.equal([[5, undefined]]);
      expect(five[0].message).to.include('see the fire times');

      // Year after year: one warning per change, at most MAX_DST_WARNINGS, the rest counted.
      const years = dstWarnings(spec, [], range('2027-10-30T00:00:00Z', '2045-01-01T00:00:00Z'));
      expect(years.warnings).to.have.length(MAX_DST_WARNINGS);
      expect(years.warnings.map((w) => w.changeAt.slice(0, 4))).to.deep.equal(
        Array.from({ length: MAX_DST_WARNINGS }, (_, i) => String(2027 + i)),
      );
      expect(years.omitted).to.equal(2044 - 2027 + 1 - MAX_DST_WARNINGS);
      // No end (a spec with fewer fire times than asked for): up to Temporal's last calendar year, 2100.
      const all = dstWarnings(spec, [], {
        after: Date.parse('2027-10-30T00:00:00Z'),
        until: Infinity,
        covered: Infinity,
      });
      expect(all.warnings.length + all.omitted).to.equal(2100 - 2027 + 1);
    });

    it('only up to `until`; no claim about runs past what Temporal listed; none for intervals', () => {
      const spec = fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' });
      expect(dstWarnings(spec, [], range('2027-10-29T12:00:00Z', '2027-10-30T12:00:00Z')).warnings).to.deep.equal([]);
      const unknown = dstWarnings(
        spec,
        at('2027-10-30T00:30:00Z'),
        range('2027-10-29T12:00:00Z', '2027-10-31T00:30:00Z', Date.parse('2027-10-31T01:00:00Z')),
      ).warnings;
      expect(unknown).to.have.length(1);
      expect(unknown[0].runs).to.equal(undefined);
      expect(unknown[0].message).to.include('see the fire times');
      const hourly = fire({ intervals: [{ every: '1h' }] });
      expect(dstWarnings(hourly, [], range('2027-10-30T00:00:00Z', '2027-11-01T00:00:00Z')).warnings).to.deep.equal([]);
    });

    it('offset changes: found once per zone and year, to the second', () => {
      const berlin = offsetChanges(
        'Europe/Berlin',
        Date.parse('2027-01-01T00:00:00Z'),
        Date.parse('2028-01-01T00:00:00Z'),
      );
      expect(berlin).to.deep.equal([
        { at: Date.parse('2027-03-28T01:00:00Z'), before: 3_600_000, after: 7_200_000 },
        { at: Date.parse('2027-10-31T01:00:00Z'), before: 7_200_000, after: 3_600_000 },
      ]);
      expect(
        offsetChanges('UTC', Date.parse('2000-01-01T00:00:00Z'), Date.parse('2100-01-01T00:00:00Z')),
      ).to.deep.equal([]);
      // Lord Howe moves its clocks by 30 minutes.
      const lordHowe = offsetChanges(
        'Australia/Lord_Howe',
        Date.parse('2027-01-01T00:00:00Z'),
        Date.parse('2028-01-01T00:00:00Z'),
      );
      expect(lordHowe.map((c) => c.after - c.before)).to.deep.equal([-1_800_000, 1_800_000]);
    });
  });

  it('mayFireAt: false only where the spec surely does not fire (the seconds a trigger may use)', () => {
    const every2s = compileSpec({ intervals: [{ every: '2s' }] }).fire;
    expect(mayFireAt(every2s, Date.parse('2027-01-01T00:00:02.500Z'))).to.equal(true);
    expect(mayFireAt(every2s, Date.parse('2027-01-01T00:00:03.500Z'))).to.equal(false);
    const nightly = compileSpec({ cron: ['0 3 * * *'], timezone: 'Europe/Berlin' }).fire;
    expect(mayFireAt(nightly, Date.parse('2027-01-05T02:00:00Z'))).to.equal(true);
    expect(mayFireAt(nightly, Date.parse('2027-01-05T02:00:01Z'))).to.equal(false);
    // A DST day: Temporal may move runs to unnamed local times, so every second of it may fire.
    expect(mayFireAt(nightly, Date.parse('2027-10-31T12:00:01Z'))).to.equal(true);
    const bounded = compileSpec({ intervals: [{ every: '1s' }], endAt: '2027-01-01T00:00:00Z' }).fire;
    expect(mayFireAt(bounded, Date.parse('2027-01-01T00:00:01Z'))).to.equal(false);
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
      [{ intervals: [{ every: '1m1m' }] }, 'spec.intervals[0].every'],
      [{ intervals: [{ every: '1h' }], jitter: '1.0000000001s' }, 'spec.jitter'],
      [{ cron: ['*/99999999999999999999 * * * *'], timezone: 'UTC' }, 'spec.cron[0]'],
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
