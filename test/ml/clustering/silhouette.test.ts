import { expect } from 'chai';
import { HOST_SILHOUETTE_MAX_DIMENSIONS, meanSilhouette } from '../../../ml/clustering/silhouette';
import { Random } from '../../../ml/random';

/** scikit-learn's silhouette_score in float64 over the float32 points, O(n²): the reference. */
function reference(points: Float32Array, n: number, d: number, labels: Int32Array, K: number): number {
  const counts = new Array<number>(K).fill(0);
  for (const l of labels) counts[l]++;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Array<number>(K).fill(0);
    for (let j = 0; j < n; j++) {
      let q = 0;
      for (let t = 0; t < d; t++) q += (points[i * d + t] - points[j * d + t]) ** 2;
      sums[labels[j]] += Math.sqrt(q);
    }
    const own = labels[i];
    if (counts[own] <= 1) continue;
    const a = sums[own] / (counts[own] - 1);
    let b = Infinity;
    for (let c = 0; c < K; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
    if (Math.max(a, b) > 0) total += (b - a) / Math.max(a, b);
  }
  return total / n;
}

/** n points in K gaussian blobs of spread `spread`, centred `offset` away from the origin; a few exact duplicates. */
function blobs(n: number, d: number, K: number, spread: number, offset: number, seed: number) {
  const rng = new Random(seed);
  const centres = Array.from({ length: K }, () => Array.from({ length: d }, () => offset + rng.nextFloat() * 10));
  const points = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % K;
    for (let t = 0; t < d; t++) points[i * d + t] = centres[i % K][t] + spread * rng.nextGaussian();
  }
  for (let i = 0; i < 5; i++) points.copyWithin((n - 1 - i) * d, i * K * d, i * K * d + d); // duplicates in cluster 0
  for (let i = 0; i < 5; i++) labels[n - 1 - i] = 0;
  return { points, labels, idx: Array.from({ length: n }, (_, i) => i) };
}

describe('silhouette: host and device distances', () => {
  const cases: Array<[string, number, number, number, number, number]> = [
    // name, n, d, K, spread, offset
    ['well separated, 2-D', 600, 2, 5, 0.5, 0],
    ['close clusters far from the origin, 3-D', 500, 3, 4, 0.01, 1000],
    ['one dimension', 300, 1, 3, 1, -50],
    ['eight dimensions', 400, 8, 6, 0.7, 5],
  ];
  for (const [name, n, d, K, spread, offset] of cases) {
    it(`${name}: both agree with the float64 reference`, async () => {
      const { points, labels, idx } = blobs(n, d, K, spread, offset, n + d);
      const ref = reference(points, n, d, labels, K);
      const host = await meanSilhouette(points, d, idx, labels, K, undefined, 'test', 'host');
      const device = await meanSilhouette(points, d, idx, labels, K, undefined, 'test', 'device');
      expect(host).to.be.closeTo(ref, 1e-12);
      expect(device).to.be.closeTo(ref, 1e-6);
      expect(host).to.be.closeTo(device, 1e-6);
    });
  }

  it(`auto: the host up to ${HOST_SILHOUETTE_MAX_DIMENSIONS} dimensions, the device above`, async () => {
    for (const d of [HOST_SILHOUETTE_MAX_DIMENSIONS, HOST_SILHOUETTE_MAX_DIMENSIONS + 1]) {
      const { points, labels, idx } = blobs(200, d, 3, 0.3, 2, d);
      const auto = await meanSilhouette(points, d, idx, labels, 3, undefined, 'test');
      const expected = d <= HOST_SILHOUETTE_MAX_DIMENSIONS ? 'host' : 'device';
      expect(auto, `d = ${d}`).to.equal(await meanSilhouette(points, d, idx, labels, 3, undefined, 'test', expected));
    }
  });

  it('the host path stops with AbortError when aborted', async () => {
    const { points, labels, idx } = blobs(200, 2, 3, 0.3, 0, 1);
    const controller = new AbortController();
    controller.abort();
    const err = await meanSilhouette(points, 2, idx, labels, 3, controller.signal, 'test', 'host').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).to.equal('AbortError');
  });
});
