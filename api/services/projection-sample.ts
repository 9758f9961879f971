import { Random } from '../../ml/random';

/** Points each non-empty cluster keeps in a sample at least (fewer when the cluster has fewer, or the limit is tight). */
export const MIN_POINTS_PER_CLUSTER = 5;

/**
 * A 32-bit seed from a string (FNV-1a, Fowler–Noll–Vo): the same job id gives the same sample on every API replica
 * and restart, so a plot does not reshuffle when it is reloaded.
 */
export function seedFromString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * Row indices (ascending) of a sample of at most `limit` rows, stratified by cluster label: every row when
 * `labels.length ≤ limit`; else each label (noise, -1, included) gets a share of the limit proportional to its size
 * (largest-remainder rounding, ties to the smaller label), after a floor of MIN_POINTS_PER_CLUSTER points each (less
 * when a cluster is smaller, or when there are so many clusters that the floors would not fit), and its rows are drawn
 * uniformly without replacement by a PRNG seeded with `seed` (ml/random.ts). An evenly spaced sample would follow
 * any order in the rows: rows that cycle through the clusters would show only some of them.
 * RangeError when `limit` is not a positive integer.
 */
export function stratifiedSample(labels: ArrayLike<number>, limit: number, seed: number): number[] {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const n = labels.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);

  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const rows = groups.get(labels[i]);
    if (rows) rows.push(i);
    else groups.set(labels[i], [i]);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a - b).map(([, rows]) => rows);
  const floor = Math.min(MIN_POINTS_PER_CLUSTER, Math.floor(limit / ordered.length));
  const quotas = ordered.map((rows) => Math.min(rows.length, floor));
  // The rest of the limit in proportion to what each cluster has beyond its floor. The remaining capacity exceeds the
  // budget (n > limit), so no share exceeds its cluster's capacity, nor does a share rounded up by one.
  const budget = limit - quotas.reduce((a, b) => a + b, 0);
  const capacity = ordered.map((rows, c) => rows.length - quotas[c]);
  const totalCapacity = capacity.reduce((a, b) => a + b, 0);
  const exact = capacity.map((cap) => (budget * cap) / totalCapacity);
  const shares = exact.map(Math.floor);
  let left = budget - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, c) => ({ c, remainder: e - shares[c] })).sort((a, b) => b.remainder - a.remainder);
  for (const { c, remainder } of byRemainder) {
    if (left === 0 || remainder <= 0) break;
    shares[c]++;
    left--;
  }

  const random = new Random(seed);
  const picked: number[] = [];
  ordered.forEach((rows, c) => {
    for (const i of random.sampleDistinct(rows.length, Math.min(rows.length, quotas[c] + shares[c])))
      picked.push(rows[i]);
  });
  return picked.sort((a, b) => a - b);
}
