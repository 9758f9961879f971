import { ValidationError } from '../../common/errors';

/**
 * Rows × the model's columns as a row-major float32 matrix: array rows by position, object rows by column name. An
 * object row with a key that is not one of the model's columns is a ValidationError naming `inputs[i].<key>` (a
 * misspelt column would otherwise be dropped without a word) unless `ignoreExtraColumns`.
 */
export function inputMatrix(inputs: unknown[], columns: string[], ignoreExtraColumns = false): Float32Array {
  const d = columns.length;
  const out = new Float32Array(inputs.length * d);
  const known = new Set(columns);
  inputs.forEach((row, i) => {
    if (!ignoreExtraColumns && row !== null && typeof row === 'object' && !Array.isArray(row)) {
      const extra = Object.keys(row).find((key) => !known.has(key));
      if (extra !== undefined) {
        const shown = extra.length > 200 ? `${extra.slice(0, 200)}…` : extra;
        throw new ValidationError(
          `the model has no column ${JSON.stringify(shown)}; its columns are ${columns.join(', ')} ` +
            '(send "ignoreExtraColumns": true to predict from rows with more keys)',
          `inputs[${i}].${shown}`,
          'unknown_column',
        );
      }
    }
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
