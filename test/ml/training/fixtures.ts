import { Table } from '../../../datasets/table';
import { Random } from '../../../ml/random';

/** Gaussian blobs in `d` dimensions with string class names: columns x0..x{d-1} (number) and `species` (string). */
export function blobsTable(
  perClass: number,
  centers: number[][],
  spread: number,
  seed: number,
  names = ['setosa', 'versicolor', 'virginica'],
): Table {
  const rng = new Random(seed);
  const d = centers[0].length;
  const columns = [
    ...Array.from({ length: d }, (_, j) => ({ name: `x${j}`, type: 'number' as const })),
    { name: 'species', type: 'string' as const, levels: names.slice(0, centers.length) },
  ];
  const values: number[] = [];
  for (let i = 0; i < perClass; i++) {
    centers.forEach((c, label) => {
      values.push(...c.map((v) => v + spread * rng.nextGaussian()), label);
    });
  }
  return { columns, rows: perClass * centers.length, values: Float64Array.from(values) };
}

/** y = 3a − 2b + 0.5c + 10 + noise; columns a, b, c, y. */
export function linearTable(n: number, noise: number, seed: number): Table {
  const rng = new Random(seed);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.nextGaussian();
    const b = rng.nextGaussian() * 2;
    const c = rng.nextFloat() * 10;
    values.push(a, b, c, 3 * a - 2 * b + 0.5 * c + 10 + noise * rng.nextGaussian());
  }
  return {
    columns: ['a', 'b', 'c', 'y'].map((name) => ({ name, type: 'number' as const })),
    rows: n,
    values: Float64Array.from(values),
  };
}
