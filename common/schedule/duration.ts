/**
 * Durations as schedules write them: one or more `<number><unit>` parts with units ms, s, m, h, d ("90s", "1h30m",
 * "10m", "1.5h"), each unit at most once, to whole milliseconds. No sign: a negative duration is not a duration.
 */
const PART = /([0-9]+)(?:\.([0-9]+))?(ms|s|m|h|d)/y;
const UNIT_MS: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n };

/** A duration read: its milliseconds, or why it is not one (a phrase to follow "not a duration:"). */
export type DurationReading = { ms: number } | { problem: string };

/**
 * Reads a duration string exactly (decimal fractions in integer arithmetic, so "0.1s" is 100 ms, not 100.00000000000001).
 * Refused, with the reason: no parts or something else between them ("", "-1h", "5 minutes", "1w"), a unit given twice
 * ("1m1m", which Go would read as 2m), and a value finer than a millisecond ("1.0000000001s", "1.5ms").
 */
export function readDuration(text: string): DurationReading {
  if (text.length === 0) return { problem: 'it is empty' };
  let total = 0n;
  const seen = new Set<string>();
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== at) return { problem: 'it is not numbers with units ms, s, m, h or d' };
    const [, whole, fraction = '', unit] = m;
    if (seen.has(unit)) return { problem: `the unit ${unit} appears twice (write "1h30m", not "1h1h")` };
    seen.add(unit);
    const scale = 10n ** BigInt(fraction.length);
    const scaled = (BigInt(whole) * scale + BigInt(fraction || '0')) * UNIT_MS[unit];
    if (scaled % scale !== 0n) return { problem: `${m[0]} is finer than a millisecond` };
    total += scaled / scale;
  }
  // Beyond 2^53 ms the number is approximate, and far beyond any bound a caller checks it against.
  return { ms: Number(total) };
}

/** Milliseconds of a duration string, or undefined when it is not one (readDuration says why). */
export function parseDurationMs(text: string): number | undefined {
  const reading = readDuration(text);
  return 'ms' in reading ? reading.ms : undefined;
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
