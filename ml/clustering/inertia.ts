/**
 * The one definition of inertia in Kiln, scikit-learn's KMeans.inertia_: the sum over ALL points of the squared
 * euclidean distance to the centre of the cluster they are labelled with. For k-means, mini-batch k-means and the SOM
 * the labels are each point's closest centre (the final assignment against the returned centres), so this is the sum
 * of squared distances to the closest centre on the final centres. The algorithms' own `inertia` and the quality
 * metrics' `inertia` both come from here, so they are the same number.
 */

/**
 * Σᵢ ‖xᵢ − c_{labels[i]}‖² in float64, in point order, from the float32 points and float64 centres (k×d row-major).
 * Points labelled −1 (noise) are skipped. A label outside 0..k−1 is a RangeError.
 */
export function inertiaToCentres(
  points: Float32Array,
  n: number,
  d: number,
  labels: ArrayLike<number>,
  centres: Float64Array,
  k: number,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (c === -1) continue;
    if (!(c >= 0 && c < k)) throw new RangeError(`label ${c} of point ${i} names no centre (k = ${k})`);
    const row = i * d;
    const base = c * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = points[row + j] - centres[base + j];
      s += diff * diff;
    }
    total += s;
  }
  return total;
}

/** Rows of d numbers as a flat k×d Float64Array. */
export function flatCentres(rows: ArrayLike<ArrayLike<number>>, d: number): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let c = 0; c < rows.length; c++) for (let j = 0; j < d; j++) out[c * d + j] = rows[c][j];
  return out;
}
