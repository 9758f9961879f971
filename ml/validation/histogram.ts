/**
 * Equal-width histogram of ascending finite values: `bins` bins spanning [min, max] (the last bin closed on the
 * right, as numpy.histogram), one bin of width 0 when every value is the same, none when there are no values.
 * `edges` has one more entry than `counts`; the counts sum to the number of values.
 */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** The histogram of `sorted` (ascending, finite) in `bins` equal-width bins (bins ≥ 1). */
export function histogramSorted(sorted: ArrayLike<number>, bins: number): Histogram {
  const n = sorted.length;
  if (n === 0) return { edges: [], counts: [] };
  const min = sorted[0];
  const max = sorted[n - 1];
  if (!(max > min)) return { edges: [min, max], counts: [n] };
  const width = (max - min) / bins;
  // (max − min), and i × step, can overflow to Infinity for values near ±1.7e308: then each edge is the weighted mean
  // of the ends, min × (1 − t) + max × t with t = i / bins, whose terms never exceed the ends.
  const edge = Number.isFinite(width)
    ? (i: number) => min + i * width
    : (i: number) => min * ((bins - i) / bins) + max * (i / bins);
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : edge(i)));
  const counts = new Array<number>(bins).fill(0);
  // Values are ascending: walk them once, moving to the next bin as they pass its right edge.
  let bin = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i];
    while (bin < bins - 1 && v >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return { edges, counts };
}
