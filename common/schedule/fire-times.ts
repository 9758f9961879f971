import { fieldValues, StructuredCalendar } from './calendar';
import { formatWall, instantsOf, offsetMs, WallTime, wallAsUtcMs, wallTimeAt } from './time-zone';

/**
 * When a schedule fires, computed the way Temporal's scheduler does (server service/worker/scheduler/spec.go): the
 * union of its calendars (matched on local wall-clock time in its zone) and its intervals (epoch + n × every +
 * offset, in UTC), from startAt through endAt. Nominal times: Temporal adds up to `jitter` to each.
 */
export interface FireSpec {
  calendars: StructuredCalendar[];
  /** Milliseconds, whole seconds. */
  intervals: Array<{ everyMs: number; offsetMs: number }>;
  /** IANA zone of the calendars (UTC when absent). */
  timezone: string;
  startAt?: Date;
  endAt?: Date;
}

/** A local time a calendar names that the zone's clocks skip (no run) or show twice (one run, at the instant Temporal picks: temporalRepeatChoice). */
export interface DstWarning {
  kind: 'gap' | 'repeat';
  /** The wall time, without a zone: `2027-03-28T02:30:00`. */
  localTime: string;
  /** For a repeat: the two instants (ISO, UTC). */
  instants?: string[];
  message: string;
}

// Temporal matches calendars up to this year (its maxCalendarYear).
const LAST_YEAR = 2100;
const HOUR_MS = 3_600_000;

/**
 * The first `count` fire times strictly after `after` (ms), and every DST gap or repeat among the calendar times up
 * to the last of them (or, when fewer fire, to the end of the search).
 */
export function nextFireTimes(
  spec: FireSpec,
  after: number,
  count: number,
): { times: number[]; warnings: DstWarning[] } {
  const start = spec.startAt ? Math.max(after, spec.startAt.getTime() - 1000) : after;
  const end = spec.endAt?.getTime() ?? Infinity;
  const warnings = new Map<string, DstWarning>();
  const streams = [
    ...spec.calendars.map((c) => calendarTimes(c, spec.timezone || 'UTC', start, warnings)),
    ...spec.intervals.map((i) => intervalTimes(i.everyMs, i.offsetMs, start)),
  ];
  const heads = streams.map((s) => s.next());
  const times: number[] = [];
  while (times.length < count) {
    let best = -1;
    heads.forEach((h, i) => {
      if (!h.done && (best < 0 || h.value < (heads[best].value as number))) best = i;
    });
    if (best < 0) break;
    const t = heads[best].value as number;
    if (t > end) break;
    if (times[times.length - 1] !== t) times.push(t);
    heads[best] = streams[best].next();
  }
  const horizon = times.length === count ? times[times.length - 1] : Infinity;
  return {
    times,
    warnings: [...warnings.values()].filter((w) => approxInstant(spec.timezone || 'UTC', w.localTime) <= horizon),
  };
}

function approxInstant(zone: string, localTime: string): number {
  const local = Date.parse(`${localTime}Z`);
  return local - offsetMs(zone, local - 86_400_000);
}

/** Epoch + n × every + offset after `after`, in whole seconds (Temporal's nextIntervalTime). */
function* intervalTimes(everyMs: number, phaseMs: number, after: number): Generator<number> {
  const every = Math.max(1, Math.round(everyMs / 1000));
  const phase = Math.max(0, Math.round(phaseMs / 1000));
  let ts = Math.floor(after / 1000);
  for (;;) {
    const next = (Math.floor((ts - phase) / every) + 1) * every + phase;
    yield next * 1000;
    ts = next;
  }
}

/**
 * The instants after `after` whose local wall time in `zone` matches the calendar, in order; a wall time in a gap
 * yields nothing and one in a repeat the instant Temporal picks, and each is recorded in `warnings`.
 */
function* calendarTimes(
  cal: StructuredCalendar,
  zone: string,
  after: number,
  warnings: Map<string, DstWarning>,
): Generator<number> {
  const years = new Set(fieldValues(cal.year));
  const months = new Set(fieldValues(cal.month));
  const days = new Set(fieldValues(cal.dayOfMonth));
  const weekdays = new Set(fieldValues(cal.dayOfWeek));
  const hours = fieldValues(cal.hour);
  const minutes = fieldValues(cal.minute);
  const seconds = fieldValues(cal.second);
  // Start a day early: the local date at `after` may be behind the wall times that follow it.
  const first = wallTimeAt(zone, after - 86_400_000);
  let day = wallAsUtcMs({ ...first, hour: 0, minute: 0, second: 0 });
  for (;;) {
    const date = new Date(day);
    const year = date.getUTCFullYear();
    if (year > LAST_YEAR) return;
    const month = date.getUTCMonth() + 1;
    if (years.has(year) && months.has(month) && days.has(date.getUTCDate()) && weekdays.has(date.getUTCDay())) {
      // Offsets change on a handful of days a year: elsewhere every wall time is one instant, local - offset.
      const before = offsetMs(zone, day - 14 * HOUR_MS);
      const steady = before === offsetMs(zone, day + 38 * HOUR_MS);
      const found: number[] = [];
      for (const hour of hours)
        for (const minute of minutes)
          for (const second of seconds) {
            const wall: WallTime = { year, month, day: date.getUTCDate(), hour, minute, second };
            if (steady) {
              const t = wallAsUtcMs(wall) - before;
              if (t > after) yield t;
              continue;
            }
            const instants = instantsOf(zone, wall);
            if (instants.length !== 1) note(zone, wall, instants, warnings, after);
            const t = instants.length === 2 ? temporalRepeatChoice(zone, wall, instants) : instants[0];
            if (t !== undefined && t > after) found.push(t);
          }
      // A repeated hour's second copy comes after later wall times' first: order the day by instant.
      yield* found.sort((a, b) => a - b);
    }
    day += 86_400_000;
  }
}

/**
 * The one instant Temporal fires at for a wall time the clocks show twice: its scheduler builds the time with Go's
 * time.Date, which takes the offset in effect at the wall time read as UTC when that offset holds at the result, else
 * the other (go/src/time/time.go Date). East of UTC that is the second occurrence (Berlin 02:30 on the last Sunday of
 * October: 01:30Z, not 00:30Z), west of it the first (New York 01:30 on the first Sunday of November: 05:30Z).
 */
function temporalRepeatChoice(zone: string, wall: WallTime, instants: number[]): number {
  const local = wallAsUtcMs(wall);
  const guess = local - offsetMs(zone, local);
  return instants.includes(guess) ? guess : instants.find((t) => t !== guess)!;
}

function note(zone: string, wall: WallTime, instants: number[], warnings: Map<string, DstWarning>, after: number) {
  const localTime = formatWall(wall);
  if (warnings.has(localTime)) return;
  if (instants.length === 0) {
    if (approxInstant(zone, localTime) <= after) return;
    warnings.set(localTime, {
      kind: 'gap',
      localTime,
      message: `${localTime} does not exist in ${zone} (the clocks skip it when DST starts): no run that day`,
    });
    return;
  }
  if (instants[1] <= after) return;
  const utc = instants.map((t) => new Date(t).toISOString());
  const runsAt = new Date(temporalRepeatChoice(zone, wall, instants)).toISOString();
  warnings.set(localTime, {
    kind: 'repeat',
    localTime,
    instants: utc,
    message: `${localTime} occurs twice in ${zone} (the clocks go back when DST ends, at ${utc.join(' and ')}): Temporal runs once, at ${runsAt}`,
  });
}
