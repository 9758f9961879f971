import { fieldValues, StructuredCalendar } from './calendar';
import { formatLocal, formatWall, offsetMs, WallTime, wallAsUtcMs, wallTimeAt } from './time-zone';

/**
 * DST warnings for a schedule's fire times: which local times its calendars name fall into a gap (the clocks skip
 * them) or a repeat (the clocks show them twice), and what Temporal does there. The fire times themselves are
 * Temporal's (api/services/schedule-fire-times.ts asks its server): its scheduler resolves repeated and skipped local
 * times in ways no simple rule reproduces (Berlin, 2027-10-31: `30 2 * * *` runs at the second 02:30, `15 1-3 * * *`
 * at the first 02:15, `0,30 2 * * *` at the second 02:00 and then at 03:30, a time it does not name; New York,
 * 2027-11-07: `30 1 * * *` runs at both 01:30s), so this module only reads them.
 */

/** A spec in the form the zone logic reads (services/schedule-spec.ts compiles it). */
export interface FireSpec {
  calendars: StructuredCalendar[];
  /** Milliseconds, whole seconds. */
  intervals: Array<{ everyMs: number; offsetMs: number }>;
  /** IANA zone of the calendars (UTC when absent). */
  timezone: string;
  startAt?: Date;
  endAt?: Date;
}

/** A local time a calendar names that the zone's clocks skip or show twice, and what Temporal does there. */
export interface DstWarning {
  kind: 'gap' | 'repeat';
  /** The wall time, without a zone: `2027-03-28T02:30:00`. */
  localTime: string;
  /** For a repeat: the two instants (ISO, UTC). */
  instants?: string[];
  /** For a repeat: which of the two instants Temporal runs at (none, one or both; ISO, UTC). */
  runsAt?: string[];
  message: string;
}

/** Temporal matches calendars up to this year (its maxCalendarYear). */
const LAST_YEAR = 2100;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The gaps and repeats among the local times the spec's calendars name between `after` (exclusive) and `until`
 * (inclusive; Infinity: up to Temporal's last calendar year), ms since the epoch, ordered by local time. `fireTimes`
 * are Temporal's fire times (ms, ascending) from `after` through at least `covered` (ms; Infinity when they are all
 * there are): a repeat says which of its two instants Temporal runs at, and a gap or repeat whose day has a Temporal
 * run at a local time no calendar or interval names (Temporal moved it there) says that too. Intervals count in UTC
 * and have no DST warnings.
 */
export function dstWarnings(
  spec: FireSpec,
  fireTimes: number[],
  range: { after: number; until: number; covered: number },
): DstWarning[] {
  const zone = spec.timezone || 'UTC';
  const found = new Map<string, { wall: WallTime; instants: number[] }>();
  for (const calendar of spec.calendars) collect(calendar, zone, range, found);
  const fired = new Set(fireTimes);
  return [...found.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([localTime, { wall, instants }]) => {
      const moved = fireTimes.filter((t) => sameDate(wallTimeAt(zone, t), wall) && !named(spec, zone, t));
      const instead = moved.length
        ? `; that day Temporal runs at ${moved.map((t) => formatLocal(zone, t)).join(', ')} instead, a local time the spec does not name`
        : '';
      if (instants.length === 0)
        return {
          kind: 'gap' as const,
          localTime,
          message: `${localTime} does not exist in ${zone} (the clocks skip it when DST starts): no run at that local time${instead}`,
        };
      const utc = instants.map((t) => new Date(t).toISOString());
      const known = instants[1] <= range.covered;
      const runsAt = instants.filter((t) => fired.has(t)).map((t) => new Date(t).toISOString());
      const what = !known
        ? 'see the fire times for what Temporal runs'
        : runsAt.length === 2
          ? 'Temporal runs at both'
          : runsAt.length === 1
            ? `Temporal runs once, at ${runsAt[0]}`
            : `Temporal runs at neither${instead}`;
      return {
        kind: 'repeat' as const,
        localTime,
        instants: utc,
        ...(known ? { runsAt } : {}),
        message: `${localTime} occurs twice in ${zone} (the clocks go back when DST ends, at ${utc.join(' and ')}): ${what}`,
      };
    });
}

/**
 * Adds to `found` each local time of `calendar` in a gap (no instants) or a repeat (its two instants) within the
 * range. Only days whose offset changes are looked at: the instants of a local day lie within [day − 14 h, day + 38 h]
 * of its midnight read as UTC, and no zone changes offset twice within that.
 */
function collect(
  calendar: StructuredCalendar,
  zone: string,
  range: { after: number; until: number },
  found: Map<string, { wall: WallTime; instants: number[] }>,
): void {
  const years = new Set(fieldValues(calendar.year));
  const months = new Set(fieldValues(calendar.month));
  const days = new Set(fieldValues(calendar.dayOfMonth));
  const weekdays = new Set(fieldValues(calendar.dayOfWeek));
  const hours = fieldValues(calendar.hour);
  const minutes = fieldValues(calendar.minute);
  const seconds = fieldValues(calendar.second);
  const first = wallTimeAt(zone, range.after - DAY_MS);
  const last = range.until + DAY_MS;
  for (let day = wallAsUtcMs({ ...first, hour: 0, minute: 0, second: 0 }); day <= last; day += DAY_MS) {
    const date = new Date(day);
    const year = date.getUTCFullYear();
    if (year > LAST_YEAR) return;
    const month = date.getUTCMonth() + 1;
    if (!years.has(year) || !months.has(month) || !days.has(date.getUTCDate()) || !weekdays.has(date.getUTCDay()))
      continue;
    const lo = day - 14 * HOUR_MS;
    const hi = day + 38 * HOUR_MS;
    const before = offsetMs(zone, lo);
    const afterChange = offsetMs(zone, hi);
    if (before === afterChange) continue;
    const change = changeInstant(zone, lo, hi, before);
    // Local times in [change + min, change + max) have no instant (a gap) or two (a repeat).
    const start = change + Math.min(before, afterChange);
    const end = change + Math.max(before, afterChange);
    for (const hour of hours)
      for (const minute of minutes)
        for (const second of seconds) {
          const wall: WallTime = { year, month, day: date.getUTCDate(), hour, minute, second };
          const local = wallAsUtcMs(wall);
          if (local < start || local >= end) continue;
          if (afterChange > before) {
            // A gap: the instant it would have been, read with the offset before the change.
            const t = local - before;
            if (t > range.after && t <= range.until) found.set(formatWall(wall), { wall, instants: [] });
          } else {
            const instants = [local - before, local - afterChange];
            if (instants[1] > range.after && instants[0] <= range.until)
              found.set(formatWall(wall), { wall, instants });
          }
        }
  }
}

/** The first second in (lo, hi] whose offset is not `before` (lo has it, hi does not), by bisection. */
function changeInstant(zone: string, lo: number, hi: number, before: number): number {
  let a = Math.floor(lo / 1000);
  let b = Math.floor(hi / 1000);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (offsetMs(zone, mid * 1000) === before) a = mid;
    else b = mid;
  }
  return b * 1000;
}

function sameDate(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** Whether the spec names instant `t`: a calendar matches its local time in `zone`, or an interval falls on it. */
function named(spec: FireSpec, zone: string, t: number): boolean {
  const w = wallTimeAt(zone, t);
  const weekday = new Date(wallAsUtcMs(w)).getUTCDay();
  const has = (ranges: StructuredCalendar['second'], v: number) =>
    ranges.some((r) => v >= r.start && v <= Math.max(r.start, r.end) && (v - r.start) % Math.max(1, r.step) === 0);
  return (
    spec.calendars.some(
      (c) =>
        has(c.year, w.year) &&
        has(c.month, w.month) &&
        has(c.dayOfMonth, w.day) &&
        has(c.dayOfWeek, weekday) &&
        has(c.hour, w.hour) &&
        has(c.minute, w.minute) &&
        has(c.second, w.second),
    ) || spec.intervals.some((i) => (((t - i.offsetMs) % i.everyMs) + i.everyMs) % i.everyMs === 0)
  );
}
