import { makeBlobs } from './blobs';

/**
 * Four well-separated blobs in four columns whose rows cycle through the classes (row i belongs to class i mod 4):
 * an evenly spaced sample of every 6th row meets only classes 0 and 2. CSV with a header `a,b,c,d`.
 */
export function interleavedBlobsCsv(rows = 30_000): string {
  const perClass = Math.ceil(rows / 4);
  const blobs = makeBlobs(
    perClass,
    [
      [0, 0, 0, 0],
      [10, 0, 0, 0],
      [0, 10, 0, 0],
      [0, 0, 10, 0],
    ],
    1,
    17,
  );
  const lines = Array.from({ length: rows }, (_, i) => {
    const point = blobs.points[(i % 4) * perClass + Math.floor(i / 4)];
    return point.map((v) => v.toFixed(3)).join(',');
  });
  return ['a,b,c,d', ...lines].join('\n');
}
