/**
 * Feature standardisation and label encoding, fitted on the training split only, as a plain JSON-serialisable
 * Preprocessor that travels inside checkpoints and model artifacts.
 *
 * Features: (x − mean) / std per feature with the population std of the training rows; a constant feature (std 0)
 * gets std 1, so it maps to 0 rather than NaN. Classification labels: the class names are the target column's values
 * (a string column's levels, or a number column's distinct values written with String()), ordered by level for string
 * columns and ascending for number columns. The class list is the one thing taken from every row rather than the
 * training split: a class seen only in validation rows must still have an output unit. Regression: the target is
 * optionally standardised the same way (mean/std of the training rows) and predictions are mapped back.
 */
import { Table } from '../../datasets/table';
import { Task } from './spec';

export interface Preprocessor {
  version: 1;
  task: Task;
  features: string[];
  target: string;
  featureMean: number[];
  featureStd: number[];
  /** Classification: class names, index = output unit. */
  classes?: string[];
  /** Regression: prediction = output × targetStd + targetMean (0 and 1 when the target is not standardised). */
  targetMean?: number;
  targetStd?: number;
}

function columnIndex(table: Table, name: string): number {
  const i = table.columns.findIndex((c) => c.name === name);
  if (i < 0) throw new RangeError(`no column named ${JSON.stringify(name)}`);
  return i;
}

/** Raw feature values of `rows`, row-major rows.length × features.length, float32. */
export function extractFeatures(table: Table, features: string[], rows: ArrayLike<number>): Float32Array {
  const c = table.columns.length;
  const idx = features.map((f) => columnIndex(table, f));
  const d = idx.length;
  const out = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * c;
    for (let j = 0; j < d; j++) out[i * d + j] = table.values[base + idx[j]];
  }
  return out;
}

/** The target's class names over all rows (see the module comment for the order). */
export function classNames(table: Table, target: string): string[] {
  const col = columnIndex(table, target);
  const spec = table.columns[col];
  const c = table.columns.length;
  const seen = new Set<number>();
  for (let r = 0; r < table.rows; r++) seen.add(table.values[r * c + col]);
  const values = [...seen].sort((a, b) => a - b);
  return spec.type === 'string' ? values.map((v) => (spec.levels ?? [])[v] ?? String(v)) : values.map((v) => String(v));
}

function meanStd(
  values: ArrayLike<number>,
  count: number,
  stride: number,
  offset: number,
): { mean: number; std: number } {
  let mean = 0;
  for (let i = 0; i < count; i++) mean += values[i * stride + offset];
  mean /= count;
  let v = 0;
  for (let i = 0; i < count; i++) v += (values[i * stride + offset] - mean) ** 2;
  const std = Math.sqrt(v / count);
  return { mean, std: std > 0 && Number.isFinite(std) ? std : 1 };
}

/** Fits the preprocessor on the training rows `trainRows` (classes: see the module comment). */
export function fitPreprocessor(
  table: Table,
  target: string,
  features: string[],
  trainRows: ArrayLike<number>,
  task: Task,
  standardizeTarget = true,
): Preprocessor {
  if (trainRows.length === 0) throw new RangeError('cannot fit a preprocessor on zero rows');
  const raw = extractFeatures(table, features, trainRows);
  const d = features.length;
  const featureMean: number[] = [];
  const featureStd: number[] = [];
  for (let j = 0; j < d; j++) {
    const s = meanStd(raw, trainRows.length, d, j);
    featureMean.push(s.mean);
    featureStd.push(s.std);
  }
  const base = { version: 1 as const, task, features: [...features], target, featureMean, featureStd };
  if (task === 'classification') return { ...base, classes: classNames(table, target) };
  if (!standardizeTarget) return { ...base, targetMean: 0, targetStd: 1 };
  const y = extractFeatures(table, [target], trainRows);
  const s = meanStd(y, trainRows.length, 1, 0);
  return { ...base, targetMean: s.mean, targetStd: s.std };
}

/** Standardises n raw feature rows (row-major Float32Array n×d, or number[][]) into a new Float32Array. */
export function transform(p: Preprocessor, points: Float32Array | number[][]): Float32Array {
  const d = p.features.length;
  const flat =
    points instanceof Float32Array
      ? points
      : Float32Array.from(
          points.flatMap((row, i) => {
            if (!Array.isArray(row) || row.length !== d)
              throw new RangeError(`row ${i} must have ${d} values (${p.features.join(', ')})`);
            return row;
          }),
        );
  if (flat.length % d !== 0)
    throw new RangeError(`points.length must be a multiple of ${d} features, got ${flat.length}`);
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const j = i % d;
    out[i] = (flat[i] - p.featureMean[j]) / p.featureStd[j];
  }
  return out;
}

/** Classification: class index of each row's target. */
export function encodeClasses(p: Preprocessor, table: Table, rows: ArrayLike<number>): Int32Array {
  if (!p.classes) throw new Error('encodeClasses needs a classification preprocessor');
  const col = columnIndex(table, p.target);
  const spec = table.columns[col];
  const c = table.columns.length;
  const index = new Map(p.classes.map((name, i) => [name, i]));
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = table.values[rows[i] * c + col];
    const name = spec.type === 'string' ? ((spec.levels ?? [])[v] ?? String(v)) : String(v);
    const k = index.get(name);
    if (k === undefined)
      throw new RangeError(`row ${rows[i]}: target value ${JSON.stringify(name)} is not a known class`);
    out[i] = k;
  }
  return out;
}

/** Regression: each row's target on the model's (possibly standardised) scale. */
export function encodeTargets(p: Preprocessor, table: Table, rows: ArrayLike<number>): Float32Array {
  const y = extractFeatures(table, [p.target], rows);
  const mean = p.targetMean ?? 0;
  const std = p.targetStd ?? 1;
  for (let i = 0; i < y.length; i++) y[i] = (y[i] - mean) / std;
  return y;
}

/** Regression: model outputs back on the target's scale. */
export function decodeTargets(p: Preprocessor, outputs: ArrayLike<number>): number[] {
  const mean = p.targetMean ?? 0;
  const std = p.targetStd ?? 1;
  return Array.from(outputs, (v) => v * std + mean);
}
