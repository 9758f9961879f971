/** Order statistics of durations in ms (nearest rank), rounded to 0.1 ms. */
export interface Stats {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

const round = (v: number) => Number(v.toFixed(1));

/** p50, p95, min and max of `ms` (nearest-rank quantiles); all NaN for an empty list. */
export function stats(ms: readonly number[]): Stats {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), min: round(at(0)), max: round(at(1)) };
}

/** The median of each named duration across samples (a name missing from a sample is left out of its median). */
export function medians(samples: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const byName = new Map<string, number[]>();
  for (const sample of samples)
    for (const [name, ms] of Object.entries(sample)) byName.set(name, [...(byName.get(name) ?? []), ms]);
  return Object.fromEntries([...byName].map(([name, values]) => [name, stats(values).p50]));
}

/** `a / b` to two decimals. */
export function ratio(a: number, b: number): number {
  return Number((a / b).toFixed(2));
}
