import { wallMatcher } from './calendar';
import type { FireSpec } from './dst-warnings';
import { offsetMs, wallAsUtcMs, wallTimeAt } from './time-zone';

const DAY_MS = 86_400_000;

/**
 * Whether Temporal may have a nominal fire time of `spec` in the whole second that holds `t` (ms): false only when it
 * surely has none there. Inside the spec's startAt..endAt, an interval falling on that second or a calendar naming its
 * local wall time says yes; so does any second on a local day whose UTC offset changes, since Temporal moves runs on
 * such days to local times no calendar names (dst-warnings.ts). A schedule's runs are named by their nominal second,
 * so a trigger in a second where this is false cannot take a scheduled run's id.
 */
export function mayFireAt(spec: FireSpec, t: number): boolean {
  const second = Math.floor(t / 1000) * 1000;
  if (spec.startAt && second < Math.floor(spec.startAt.getTime() / 1000) * 1000) return false;
  if (spec.endAt && second > spec.endAt.getTime()) return false;
  if (spec.intervals.some((i) => (((second - i.offsetMs) % i.everyMs) + i.everyMs) % i.everyMs === 0)) return true;
  if (spec.calendars.length === 0) return false;
  const zone = spec.timezone || 'UTC';
  if (offsetMs(zone, second - DAY_MS) !== offsetMs(zone, second + DAY_MS)) return true;
  const wall = wallAsUtcMs(wallTimeAt(zone, second));
  return spec.calendars.some((c) => wallMatcher(c).matches(wall));
}
