/**
 * The bench's small job: n two-dimensional points in k well-separated blobs (cluster c at x = 10c, y = 10(c mod 3)),
 * jittered by a linear congruential generator from `seed`, so that every job may send its own data (a fresh dataset to
 * store, as a real small job would) and a run is reproducible.
 */
export function blobPoints(n: number, k: number, seed: number): number[][] {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  return Array.from({ length: n }, (_, i) => {
    const cluster = i % k;
    return [cluster * 10 + uniform(), (cluster % 3) * 10 + uniform()];
  });
}
