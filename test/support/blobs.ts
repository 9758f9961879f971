import { Random } from '../../ml/random';

/**
 * Well-separated Gaussian blobs with their true labels, from a seeded generator: a partition any correct clustering
 * recovers exactly.
 */
export function makeBlobs(
  perCluster: number,
  centers: number[][],
  spread: number,
  seed: number,
): { points: number[][]; labels: number[] } {
  const rng = new Random(seed);
  const points: number[][] = [];
  const labels: number[] = [];
  centers.forEach((center, label) => {
    for (let i = 0; i < perCluster; i++) {
      points.push(center.map((c) => c + spread * rng.nextGaussian()));
      labels.push(label);
    }
  });
  return { points, labels };
}
