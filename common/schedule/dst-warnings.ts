import { StructuredCalendar, WallMatcher, wallMatcher } from './calendar';
import { formatLocal, OffsetChange, offsetChanges } from './time-zone';

/**
 * DST warnings for a schedule's fire times: for each change of the zone's offset, the local times its calendars name
 * that the change skips (a gap) or shows twice (a repeat), and what Temporal does there. One warning per change, not per
 * local time: a spec naming every second of a repeated hour gets one warning that counts them. The fire times
 * themselves are Temporal's (api/services/schedule-fire-times.ts asks its server): its scheduler resolves repeated and
 * skipped local times in ways no simple rule reproduces (Berlin, 2027-10-31: `30 2 * * *` runs at the second 02:30,
 * `15 1-3 * * *` at the first 02:15, `0,30 2 * * *` at the second 02:00 and then at 03:30, a time it does not name;
 * New York, 2027-11-07: `30 1 * * *` runs at both 01:30s), so this module only reads them.
 *
 * Cost: the zone's offset changes are found once per zone and year (time-zone.ts offsetChanges); each change costs at
 * most one pass over the local seconds it skips or repeats (3,600 for an hour; an hour whose date or hour no calendar
 * names is skipped whole, and past MAX_DST_WARNINGS the pass stops at the first named second), plus binary searches of
 * the fire times and a look at those of that day: bounded by the number of changes, not by the number of fire times.
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

/** A count and the first few of what it counts. */
export interface Counted {
  count: number;
  /** At most MAX_EXAMPLES, earliest first. */
  examples: string[];
}

/** One change of the zone's offset that skips or repeats local times the spec names, and what Temporal does there. */
export interface DstWarning {
  kind: 'gap' | 'repeat';
  /** The first local time the spec names in the interval, a wall time without a zone: `2027-03-28T02:30:00`. */
  localTime: string;
  /** The local times the clocks skip (gap) or show twice (repeat): [start, end), wall times without a zone. */
  localInterval: { start: string; end: string };
  /** When the clocks change (ISO, UTC). */
  changeAt: string;
  /** The local times in the interval the spec's calendars name (those after `from`). */
  named: Counted;
  /** A repeat: the interval's two passes, [start, end) in UTC. */
  passes?: Array<{ start: string; end: string }>;
  /**
   * A repeat, when Temporal's fire times are known through its end: how many of them fall in each pass, and the first
   * few (ISO, UTC).
   */
  runs?: { firstPass: number; secondPass: number; examples: string[] };
  /** Temporal's fire times that local day at a local time the spec does not name (it moved runs there). */
  moved?: Counted;
  message: string;
}

/** The DST warnings of a range (at most MAX_DST_WARNINGS) and how many more changes there were. */
export interface DstWarnings {
  warnings: DstWarning[];
  /** Offset changes past the cap that also skip or repeat named local times. */
  omitted: number;
}

/** At most this many DST warnings in one answer (README: Schedules); `omitted` counts the rest. */
export const MAX_DST_WARNINGS = 10;
/** Examples per count. */
export const MAX_EXAMPLES = 3;

/** Temporal matches calendars from this year through LAST_YEAR (its minCalendarYear, maxCalendarYear). */
const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;
const SECOND_MS = 1000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `2027-03-28T02:30:00` from a wall time read as if UTC (ms). */
function wallText(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19);
}

const iso = (t: number) => new Date(t).toISOString();

/** The index of the first element of ascending `sorted` that is >= `value`. */
function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The DST warnings between `after` (exclusive) and `until` (inclusive; Infinity: up to Temporal's last calendar year),
 * ms since the epoch, one per change of the zone's offset whose skipped or repeated local times the spec's calendars
 * name, earliest first, at most MAX_DST_WARNINGS (`omitted` counts the rest). `fireTimes` are Temporal's fire times
 * (ms, ascending) from `after` through at least `covered` (ms; Infinity when they are all there are): a repeat counts
 * the runs Temporal makes in each pass, and a day with a Temporal run at a local time no calendar or interval names
 * (Temporal moved it there) says that too. Intervals count in UTC and have no DST warnings of their own.
 */
export function dstWarnings(
  spec: FireSpec,
  fireTimes: number[],
  range: { after: number; until: number; covered: number },
): DstWarnings {
  const zone = spec.timezone || 'UTC';
  const none: DstWarnings = { warnings: [], omitted: 0 };
  if (spec.calendars.length === 0) return none;
  const matchers = spec.calendars.map(wallMatcher);
  // The changes near the range: a named local time's instants lie within a day of its change.
  const lo = Math.max(range.after - 2 * DAY_MS, Date.UTC(FIRST_YEAR, 0, 1) - 2 * DAY_MS);
  const hi = Math.min(range.until + 2 * DAY_MS, Date.UTC(LAST_YEAR + 1, 0, 1) + 2 * DAY_MS);
  const out: DstWarnings = { warnings: [], omitted: 0 };
  for (const change of offsetChanges(zone, lo, hi)) {
    const full = out.warnings.length < MAX_DST_WARNINGS;
    const named = namedIn(change, matchers, range, full ? Infinity : 1);
    if (named.count === 0) continue;
    if (!full) out.omitted++;
    else out.warnings.push(warningFor(spec, matchers, zone, change, named, fireTimes, range.covered));
  }
  return out;
}

/**
 * The local times in the change's skipped or repeated interval that a calendar names and whose instants fall in the
 * range (a gap: the instant it would have been, read with the old offset; a repeat: either instant), counted up to
 * `limit`.
 */
function namedIn(
  change: OffsetChange,
  matchers: WallMatcher[],
  range: { after: number; until: number },
  limit: number,
): Counted {
  const start = change.at + Math.min(change.before, change.after);
  const end = change.at + Math.max(change.before, change.after);
  const gap = change.after > change.before;
  const found: Counted = { count: 0, examples: [] };
  for (let wall = start; wall < end && found.count < limit; wall += SECOND_MS) {
    // An hour no calendar names (another date or hour): skip to the next one.
    if (!matchers.some((m) => m.namesHour(wall))) {
      wall = Math.floor(wall / HOUR_MS) * HOUR_MS + HOUR_MS - SECOND_MS;
      continue;
    }
    const first = wall - change.before;
    const second = wall - change.after;
    const inRange = gap ? first > range.after && first <= range.until : second > range.after && first <= range.until;
    if (!inRange || !matchers.some((m) => m.matches(wall))) continue;
    found.count++;
    if (found.examples.length < MAX_EXAMPLES) found.examples.push(wallText(wall));
  }
  return found;
}

function warningFor(
  spec: FireSpec,
  matchers: WallMatcher[],
  zone: string,
  change: OffsetChange,
  named: Counted,
  fireTimes: number[],
  covered: number,
): DstWarning {
  const gap = change.after > change.before;
  const start = change.at + Math.min(change.before, change.after);
  const end = change.at + Math.max(change.before, change.after);
  const localInterval = { start: wallText(start), end: wallText(end) };
  const changeAt = iso(change.at);
  const names =
    `the spec names ${named.count} local time${named.count === 1 ? '' : 's'} in it (` +
    `${named.examples.join(', ')}${named.count > named.examples.length ? ', ...' : ''})`;
  const moved = movedRuns(spec, matchers, zone, change, start, fireTimes);
  const instead = moved.count
    ? `; that day Temporal also runs at ${moved.examples.join(', ')}${moved.count > moved.examples.length ? ` and ${moved.count - moved.examples.length} more` : ''}, a local time the spec does not name`
    : '';
  const base = {
    localTime: named.examples[0],
    localInterval,
    changeAt,
    named,
    ...(moved.count ? { moved } : {}),
  };
  if (gap)
    return {
      kind: 'gap',
      ...base,
      message:
        `${localInterval.start} to ${localInterval.end} does not exist in ${zone} (the clocks skip it at ${changeAt}): ` +
        `${names}; no run at those local times${instead}`,
    };
  const delta = change.before - change.after;
  const passes = [
    { start: iso(change.at - delta), end: iso(change.at) },
    { start: iso(change.at), end: iso(change.at + delta) },
  ];
  const from = lowerBound(fireTimes, change.at - delta);
  const middle = lowerBound(fireTimes, change.at);
  const to = lowerBound(fireTimes, change.at + delta);
  const known = change.at + delta - SECOND_MS <= covered;
  const runs = {
    firstPass: middle - from,
    secondPass: to - middle,
    examples: fireTimes.slice(from, Math.min(to, from + MAX_EXAMPLES)).map(iso),
  };
  const what = !known
    ? 'see the fire times for what Temporal runs'
    : `Temporal runs ${runs.firstPass} time${runs.firstPass === 1 ? '' : 's'} in the first pass and ` +
      `${runs.secondPass} in the second${runs.examples.length ? ` (${runs.examples.join(', ')}${runs.firstPass + runs.secondPass > runs.examples.length ? ', ...' : ''})` : ''}`;
  return {
    kind: 'repeat',
    ...base,
    passes,
    ...(known ? { runs } : {}),
    message:
      `${localInterval.start} to ${localInterval.end} occurs twice in ${zone} (the clocks go back at ${changeAt}: ` +
      `${passes[0].start} to ${passes[0].end}, then again to ${passes[1].end}): ${names}; ${what}${instead}`,
  };
}

/**
 * Temporal's fire times on the local day of the change's interval at a local time the spec does not name. The local
 * time of an instant near the change is read with the offset before or after it, without asking the tz data again.
 */
function movedRuns(
  spec: FireSpec,
  matchers: WallMatcher[],
  zone: string,
  change: OffsetChange,
  intervalStart: number,
  fireTimes: number[],
): Counted {
  const day = Math.floor(intervalStart / DAY_MS);
  const found: Counted = { count: 0, examples: [] };
  const end = lowerBound(fireTimes, change.at + 2 * DAY_MS);
  for (let i = lowerBound(fireTimes, change.at - 2 * DAY_MS); i < end; i++) {
    const t = fireTimes[i];
    const wall = t + (t < change.at ? change.before : change.after);
    if (Math.floor(wall / DAY_MS) !== day) continue;
    const named =
      matchers.some((m) => m.matches(wall)) ||
      spec.intervals.some((v) => (((t - v.offsetMs) % v.everyMs) + v.everyMs) % v.everyMs === 0);
    if (named) continue;
    found.count++;
    if (found.examples.length < MAX_EXAMPLES) found.examples.push(formatLocal(zone, t));
  }
  return found;
}
