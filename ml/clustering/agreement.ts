/**
 * Clustering comparison metrics. Cluster ids are arbitrary, so comparisons must be invariant to relabelling:
 * the adjusted Rand index (Hubert & Arabie 1985) is 1 exactly when two labelings describe the same partition,
 * about 0 for independent random labelings, and is what scikit-learn's adjusted_rand_score computes.
 */

/** Contingency table of two labelings of the same points: counts[a][b] = #points with labelsA = a and labelsB = b. */
function contingency(labelsA: ArrayLike<number>, labelsB: ArrayLike<number>): Map<number, Map<number, number>> {
  if (labelsA.length !== labelsB.length) {
    throw new RangeError(`labelings differ in length: ${labelsA.length} vs ${labelsB.length}`);
  }
  const table = new Map<number, Map<number, number>>();
  for (let i = 0; i < labelsA.length; i++) {
    let row = table.get(labelsA[i]);
    if (!row) table.set(labelsA[i], (row = new Map()));
    row.set(labelsB[i], (row.get(labelsB[i]) ?? 0) + 1);
  }
  return table;
}

const pairs = (m: number): number => (m * (m - 1)) / 2;

/** Adjusted Rand index of two labelings, in [-1, 1] (1 = identical partitions). */
export function adjustedRandIndex(labelsA: ArrayLike<number>, labelsB: ArrayLike<number>): number {
  const table = contingency(labelsA, labelsB);
  const n = labelsA.length;
  let sumCells = 0;
  const rowTotals: number[] = [];
  const colTotals = new Map<number, number>();
  for (const row of table.values()) {
    let rowTotal = 0;
    for (const [b, c] of row) {
      sumCells += pairs(c);
      rowTotal += c;
      colTotals.set(b, (colTotals.get(b) ?? 0) + c);
    }
    rowTotals.push(rowTotal);
  }
  const sumRows = rowTotals.reduce((s, r) => s + pairs(r), 0);
  let sumCols = 0;
  for (const c of colTotals.values()) sumCols += pairs(c);
  const expected = n > 1 ? (sumRows * sumCols) / pairs(n) : 0;
  const max = (sumRows + sumCols) / 2;
  // Both labelings put everything in one cluster, or everything in singletons: the partitions agree trivially
  // (scikit-learn returns 1.0 for these degenerate cases too).
  if (max === expected) return 1;
  return (sumCells - expected) / (max - expected);
}

/**
 * True when the two labelings are the same partition up to renaming the clusters (a bijection between ids).
 * Stricter and cheaper to explain in a test failure than ARI === 1, which it is equivalent to.
 */
export function samePartition(labelsA: ArrayLike<number>, labelsB: ArrayLike<number>): boolean {
  if (labelsA.length !== labelsB.length) return false;
  const aToB = new Map<number, number>();
  const bToA = new Map<number, number>();
  for (let i = 0; i < labelsA.length; i++) {
    const a = labelsA[i];
    const b = labelsB[i];
    const mappedB = aToB.get(a);
    const mappedA = bToA.get(b);
    if (mappedB === undefined && mappedA === undefined) {
      aToB.set(a, b);
      bToA.set(b, a);
    } else if (mappedB !== b || mappedA !== a) {
      return false;
    }
  }
  return true;
}

/** Entropy (natural log) of a labeling; 0 for a single cluster, as scikit-learn's _entropy (1.0 for no labels). */
function labelEntropy(labels: ArrayLike<number>): number {
  const n = labels.length;
  if (n === 0) return 1;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  if (counts.size === 1) return 0;
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * (Math.log(c) - Math.log(n));
  return h;
}

/**
 * Normalised mutual information of two labelings with the arithmetic-mean normaliser, in [0, 1] (1 = identical
 * partitions), as scikit-learn's normalized_mutual_info_score(average_method='arithmetic'): 1 when both labelings
 * are a single cluster, 0 when the mutual information is 0.
 */
export function normalizedMutualInfo(labelsA: ArrayLike<number>, labelsB: ArrayLike<number>): number {
  const table = contingency(labelsA, labelsB);
  const n = labelsA.length;
  const colTotals = new Map<number, number>();
  const rowTotals = new Map<number, number>();
  for (const [a, row] of table) {
    for (const [b, c] of row) {
      rowTotals.set(a, (rowTotals.get(a) ?? 0) + c);
      colTotals.set(b, (colTotals.get(b) ?? 0) + c);
    }
  }
  if ((rowTotals.size === 1 && colTotals.size === 1) || n === 0) return 1;
  if (rowTotals.size === 1 || colTotals.size === 1) return 0;
  let mi = 0;
  for (const [a, row] of table) {
    for (const [b, c] of row) {
      // Term by term as scikit-learn's mutual_info_score, which also drops terms below float64 epsilon.
      const term =
        (c / n) * (Math.log(c) - Math.log(n)) +
        (c / n) * (-Math.log(rowTotals.get(a)! * colTotals.get(b)!) + 2 * Math.log(n));
      if (Math.abs(term) >= Number.EPSILON) mi += term;
    }
  }
  mi = Math.max(0, mi);
  if (mi === 0) return 0;
  return mi / ((labelEntropy(labelsA) + labelEntropy(labelsB)) / 2);
}
