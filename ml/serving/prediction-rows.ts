/**
 * A prediction as predictors return it: per-row fields (`labels`, `probabilities`, `values`, `cells`: arrays with one
 * entry per input row, in row order) beside fields that describe the model (`task`, `classes`). Serving several
 * requests' rows in one call and answering each with its own rows needs the per-row fields cut apart.
 */

/**
 * The rows [start, start + count) of `prediction`: each key named in `rowKeys` sliced to those rows, every other key
 * as it is; key order is kept (it is the order of the JSON answer). Throws RangeError when a row key is not an array
 * with at least start + count entries (a predictor that broke its own contract).
 */
export function predictionRows(
  prediction: Record<string, unknown>,
  rowKeys: readonly string[],
  start: number,
  count: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(prediction)) {
    if (!rowKeys.includes(key)) {
      out[key] = value;
      continue;
    }
    if (!Array.isArray(value) || value.length < start + count)
      throw new RangeError(`prediction field ${key} does not hold one entry per row (rows ${start}..${start + count})`);
    out[key] = value.slice(start, start + count);
  }
  return out;
}
