/**
 * Well-separated Gaussian blobs with their true labels, from a seeded generator: a partition any correct k-means
 * recovers exactly.
 */
export function makeBlobs(perCluster: number, centers: number[][], spread: number, seed: number): { points: number[][]; labels: number[] } {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const points: number[][] = [];
  const labels: number[] = [];
  centers.forEach((center, label) => {
    for (let i = 0; i < perCluster; i++) {
      points.push(center.map((c) => c + spread * gaussian()));
      labels.push(label);
    }
  });
  return { points, labels };
}

/** True when two labelings describe the same partition (equal up to renaming the clusters). */
export function samePartition(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}
