/**
 * Durations as schedules write them: one or more `<number><unit>` parts with units ms, s, m, h, d ("90s", "1h30m",
 * "10m", "1.5h"). No sign: a negative duration is not a duration.
 */
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/y;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration string, or undefined when it is not one ("", "-1h", "5 minutes", "1w"). */
export function parseDurationMs(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  return Math.round(total);
}

/** A duration in the shortest exact form of the largest units ("1h30m", "10m", "2s", "1500ms"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(seconds / size);
    if (n > 0) out += `${n}${unit}`;
    seconds -= n * size;
  }
  return out;
}
