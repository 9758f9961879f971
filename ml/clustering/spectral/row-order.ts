/**
 * Moving the rows of an n×b row-major float64 block between the points' own order and a renumbering of them
 * (graph-order.ts), for the eigensolver's start block (eigen.ts) and its results (spectral.ts). order[q] is the point
 * numbered q.
 */

/** Rows of an n×b row-major block in the caller's order, from the permuted order (row q is the caller's order[q]). */
export function unpermuteRows(rows: Float64Array, order: Int32Array, b: number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let q = 0; q < order.length; q++) out.set(rows.subarray(q * b, (q + 1) * b), order[q] * b);
  return out;
}

/** Rows of an n×b row-major block in the permuted order (row q is the caller's row order[q]). */
export function permuteRows(rows: Float64Array, order: Int32Array, b: number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let q = 0; q < order.length; q++) out.set(rows.subarray(order[q] * b, (order[q] + 1) * b), q * b);
  return out;
}
