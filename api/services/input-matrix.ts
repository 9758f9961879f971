import { ValidationError } from '../../common/errors';

/** Rows × the model's columns as a row-major float32 matrix: array rows by position, object rows by column name. */
export function inputMatrix(inputs: unknown[], columns: string[]): Float32Array {
  const d = columns.length;
  const out = new Float32Array(inputs.length * d);
  inputs.forEach((row, i) => {
    const cells = Array.isArray(row)
      ? row
      : row !== null && typeof row === 'object'
        ? columns.map((c) => (row as Record<string, unknown>)[c])
        : undefined;
    if (!cells)
      throw new ValidationError('each input must be an array of numbers or an object keyed by column', `inputs[${i}]`);
    if (cells.length !== d)
      throw new ValidationError(
        `the model takes ${d} values per row (${columns.join(', ')}), got ${cells.length}`,
        `inputs[${i}]`,
      );
    cells.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const where = Array.isArray(row) ? `inputs[${i}][${j}]` : `inputs[${i}].${columns[j]}`;
        throw new ValidationError(`expected a finite number, got ${JSON.stringify(v) ?? 'nothing'}`, where);
      }
      out[i * d + j] = v;
    });
  });
  return out;
}
