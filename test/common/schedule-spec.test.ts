import { expect } from 'chai';
import { CalendarSyntaxError, fieldValues, parseCalendar, parseCron } from '../../common/schedule/calendar';
import { formatDurationMs, parseDurationMs } from '../../common/schedule/duration';
import { dstWarnings } from '../../common/schedule/dst-warnings';
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

  describe('DST warnings, on the fire times Temporal reports (as its dev server 1.29 answered them)', () => {
    const fire = (spec: Parameters<typeof compileSpec>[0]) => compileSpec(spec).fire;
    const at = (...times: string[]) => times.map((t) => Date.parse(t));
    const range = (after: string, until: string, covered = Infinity) => ({
      after: Date.parse(after),
      until: Date.parse(until),
      covered,
    });

    it('a local time in the spring-forward gap: reported, no run at it', () => {
      const warnings = dstWarnings(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-03-26T01:30:00Z', '2027-03-27T01:30:00Z', '2027-03-29T00:30:00Z', '2027-03-30T00:30:00Z'),
        range('2027-03-26T00:00:00Z', '2027-03-30T00:30:00Z'),
      );
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include({ kind: 'gap', localTime: '2027-03-28T02:30:00' });
      expect(warnings[0].message).to.include('no run at that local time');
      expect(warnings[0].message).to.not.include('instead');
    });

    it('a local time the fall-back repeats: its two instants and which Temporal runs at, one, both or neither', () => {
      const berlin = dstWarnings(
        fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-31T01:30:00Z', '2027-11-01T01:30:00Z', '2027-11-02T01:30:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-02T01:30:00Z'),
      );
      expect(berlin).to.deep.equal([
        {
          kind: 'repeat',
          localTime: '2027-10-31T02:30:00',
          instants: ['2027-10-31T00:30:00.000Z', '2027-10-31T01:30:00.000Z'],
          runsAt: ['2027-10-31T01:30:00.000Z'],
          message:
            '2027-10-31T02:30:00 occurs twice in Europe/Berlin (the clocks go back when DST ends, at ' +
            '2027-10-31T00:30:00.000Z and 2027-10-31T01:30:00.000Z): Temporal runs once, at 2027-10-31T01:30:00.000Z',
        },
      ]);
      // `15 1-3`: Temporal runs the first 02:15 (CEST), unlike `30 2` above.
      const ranged = dstWarnings(
        fire({ cron: ['15 1-3 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-30T23:15:00Z', '2027-10-31T00:15:00Z', '2027-10-31T02:15:00Z', '2027-11-01T00:15:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-01T00:15:00Z'),
      );
      expect(ranged.map((w) => [w.kind, w.localTime, w.runsAt])).to.deep.equal([
        ['repeat', '2027-10-31T02:15:00', ['2027-10-31T00:15:00.000Z']],
      ]);
      // New York: both 01:30s run.
      const ny = dstWarnings(
        fire({ cron: ['30 1 * * *'], timezone: 'America/New_York' }),
        at('2027-11-06T05:30:00Z', '2027-11-07T05:30:00Z', '2027-11-07T06:30:00Z', '2027-11-08T06:30:00Z'),
        range('2027-11-06T00:00:00Z', '2027-11-08T06:30:00Z'),
      );
      expect(ny.map((w) => w.runsAt)).to.deep.equal([['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z']]);
      expect(ny[0].message).to.include('Temporal runs at both');
    });

    it('a repeat Temporal runs at neither instant: the run it moved to an unnamed local time is named', () => {
      // `*/30 2`: Temporal runs the second 02:00 (01:00Z), then 03:30 CET (02:30Z), which the cron does not name.
      const warnings = dstWarnings(
        fire({ cron: ['*/30 2 * * *'], timezone: 'Europe/Berlin' }),
        at('2027-10-31T01:00:00Z', '2027-10-31T02:30:00Z', '2027-11-01T01:00:00Z', '2027-11-01T01:30:00Z'),
        range('2027-10-30T12:00:00Z', '2027-11-01T01:30:00Z'),
      );
      expect(warnings.map((w) => [w.localTime, w.runsAt])).to.deep.equal([
        ['2027-10-31T02:00:00', ['2027-10-31T01:00:00.000Z']],
        ['2027-10-31T02:30:00', []],
      ]);
      expect(warnings[1].message).to.include(
        'Temporal runs at neither; that day Temporal runs at 2027-10-31T03:30:00+01:00 instead, a local time the spec does not name',
      );
    });

    it('only up to `until`; no claim about runs past what Temporal listed; none for intervals', () => {
      const spec = fire({ cron: ['30 2 * * *'], timezone: 'Europe/Berlin' });
      expect(dstWarnings(spec, [], range('2027-10-29T12:00:00Z', '2027-10-30T12:00:00Z'))).to.deep.equal([]);
      const unknown = dstWarnings(
        spec,
        at('2027-10-30T00:30:00Z'),
        range('2027-10-29T12:00:00Z', '2027-10-31T00:30:00Z', Date.parse('2027-10-31T01:00:00Z')),
      );
      expect(unknown).to.have.length(1);
      expect(unknown[0].runsAt).to.equal(undefined);
      expect(unknown[0].message).to.include('see the fire times');
      const hourly = fire({ intervals: [{ every: '1h' }] });
      expect(dstWarnings(hourly, [], range('2027-10-30T00:00:00Z', '2027-11-01T00:00:00Z'))).to.deep.equal([]);
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
