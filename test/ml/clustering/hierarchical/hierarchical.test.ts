import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../../../../common/paths';
import { initComputeBackend } from '../../../../ml/backend';
import {
  HIERARCHICAL_LIMITS,
  HIERARCHICAL_MATRIX_MAX_POINTS,
  HierarchicalParams,
  HierarchicalResult,
  LINKAGES,
  Linkage,
  MergeTree,
  chooseHierarchicalMethod,
  hierarchical,
  hierarchicalWithMethod,
  runHierarchical,
} from '../../../../ml/clustering/hierarchical/hierarchical';
import { adjustedRandIndex, samePartition } from '../../../../ml/clustering/agreement';
import { Random } from '../../../../ml/random';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'sklearn');

interface Data {
  points: Float32Array;
  n: number;
  d: number;
}
interface HierarchicalFixture {
  dataset: string;
  params: HierarchicalParams;
  labels: number[];
  clusters: number;
  mergeTree: { children: [number, number][]; distances: number[] };
}

function loadDataset(name: string): Data & { truth: number[] } {
  const ds = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as {
    points: number[][];
    truth: number[];
  };
  return { points: Float32Array.from(ds.points.flat()), n: ds.points.length, d: ds.points[0].length, truth: ds.truth };
}

const fixtureFiles = fs
  .readdirSync(FIXTURES)
  .filter((f) => /^hierarchical-.+__.+\.json$/.test(f))
  .sort();

function uniform(n: number, d: number, seed: number): Data {
  const rng = new Random(seed);
  return { points: Float32Array.from({ length: n * d }, () => rng.nextFloat() * 10), n, d };
}

/** Structure every scipy-style merge tree has: n−1 merges, each id (point or earlier merge) used once, sizes add up. */
function expectWellFormed(tree: MergeTree, n: number): void {
  expect(tree.children.length).to.equal(n - 1);
  expect(tree.distances.length).to.equal(n - 1);
  expect(tree.sizes.length).to.equal(n - 1);
  const used = new Set<number>();
  const sizeOf = (id: number) => (id < n ? 1 : tree.sizes[id - n]);
  tree.children.forEach(([a, b], i) => {
    for (const id of [a, b]) {
      expect(id, `merge ${i} child`).to.be.within(0, n + i - 1);
      expect(used.has(id), `id ${id} merged twice`).to.equal(false);
      used.add(id);
    }
    expect(tree.sizes[i]).to.equal(sizeOf(a) + sizeOf(b));
    if (i > 0) expect(tree.distances[i]).to.be.at.least(tree.distances[i - 1]);
  });
  if (n > 1) expect(tree.sizes[n - 2]).to.equal(n);
}

/**
 * Textbook agglomerative clustering, O(n³): merge the closest pair of clusters by the linkage's definition computed
 * from the points every time (Ward: √(2|A||B|/(|A|+|B|))·‖c_A − c_B‖). Returns the merge heights and, for each k,
 * the partition after n − k merges.
 */
function naiveAgglomerative(data: Data, linkage: Linkage): { heights: number[]; partitions: Map<number, Int32Array> } {
  const { points, n, d } = data;
  const dist = (i: number, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (points[i * d + t] - points[j * d + t]) ** 2;
    return Math.sqrt(s);
  };
  let clusters: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const centroid = (c: number[]) =>
    Array.from({ length: d }, (_, t) => c.reduce((s, i) => s + points[i * d + t], 0) / c.length);
  const linkageDistance = (a: number[], b: number[]): number => {
    if (linkage === 'ward') {
      const ca = centroid(a);
      const cb = centroid(b);
      const sq = ca.reduce((s, v, t) => s + (v - cb[t]) ** 2, 0);
      return Math.sqrt(((2 * a.length * b.length) / (a.length + b.length)) * sq);
    }
    const all = a.flatMap((i) => b.map((j) => dist(i, j)));
    if (linkage === 'single') return Math.min(...all);
    if (linkage === 'complete') return Math.max(...all);
    return all.reduce((s, v) => s + v, 0) / all.length;
  };
  const heights: number[] = [];
  const partitions = new Map<number, Int32Array>([[n, Int32Array.from({ length: n }, (_, i) => i)]]);
  while (clusters.length > 1) {
    let best = Infinity;
    let pair = [0, 1];
    for (let a = 0; a < clusters.length; a++) {
      for (let b = a + 1; b < clusters.length; b++) {
        const v = linkageDistance(clusters[a], clusters[b]);
        if (v < best) ((best = v), (pair = [a, b]));
      }
    }
    heights.push(best);
    const merged = [...clusters[pair[0]], ...clusters[pair[1]]];
    clusters = clusters.filter((_, i) => i !== pair[0] && i !== pair[1]).concat([merged]);
    const labels = new Int32Array(n);
    clusters.forEach((c, label) => c.forEach((i) => (labels[i] = label)));
    partitions.set(clusters.length, labels);
  }
  return { heights, partitions };
}

async function rejection(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('ml/clustering/hierarchical', function () {
  before(async () => {
    await initComputeBackend();
  });

  let tensorsBefore: number;
  beforeEach(() => {
    tensorsBefore = tf.memory().numTensors;
  });
  afterEach(function () {
    if (this.currentTest?.state === 'passed') expect(tf.memory().numTensors, 'tensors leaked').to.equal(tensorsBefore);
  });

  describe('scikit-learn fixtures (AgglomerativeClustering)', () => {
    it('has fixtures for every linkage and for distanceThreshold (run test/fixtures/sklearn/make_fixtures.py)', () => {
      for (const linkage of LINKAGES)
        expect(
          fixtureFiles.some((f) => f.startsWith(`hierarchical-${linkage}__`)),
          linkage,
        ).to.equal(true);
      expect(fixtureFiles.some((f) => f.includes('-threshold__'))).to.equal(true);
    });

    for (const file of fixtureFiles) {
      it(`matches scikit-learn on ${file}`, async () => {
        const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as HierarchicalFixture;
        const data = loadDataset(fx.dataset);
        const r = await hierarchical(data.points, data.n, data.d, fx.params);
        expect(adjustedRandIndex(r.labels, fx.labels), 'ARI vs scikit-learn').to.be.at.least(0.99);
        expect(r.clusters).to.equal(fx.clusters);
        expectWellFormed(r.mergeTree, data.n);
        // iris has one decimal per value, so many pairwise distances tie exactly; scipy and we may then merge tied
        // pairs in another order (which can change later complete/average heights). Elsewhere the trees are identical.
        if (fx.dataset !== 'iris-like') {
          expect(r.mergeTree.children, 'children_').to.deep.equal(fx.mergeTree.children);
          expect(Array.from(r.labels), 'labels, numbering included').to.deep.equal(fx.labels);
        }
        if (fx.dataset !== 'iris-like' || fx.params.linkage === 'ward' || fx.params.linkage === 'single') {
          r.mergeTree.distances.forEach((dist, i) => {
            const want = fx.mergeTree.distances[i];
            expect(dist, `distances_[${i}]`).to.be.closeTo(want, 1e-4 * want + 1e-5);
          });
        }
      });
    }
  });

  describe('tensor path (forced; on CUDA it is the default)', () => {
    it('is chosen only on tfjs-node-gpu with a CUDA device', () => {
      expect(chooseHierarchicalMethod('tfjs-node-gpu', true)).to.equal('tensor');
      expect(chooseHierarchicalMethod('tfjs-node-gpu', false)).to.equal('host');
      for (const b of ['tfjs-node', 'wasm', 'cpu'] as const)
        expect(chooseHierarchicalMethod(b, false), b).to.equal('host');
    });

    it('the default path on this backend is the host path', async () => {
      const data = loadDataset('blobs');
      const r = await hierarchical(data.points, data.n, data.d, { k: 3 });
      expect(r.method).to.match(/host/);
    });

    for (const file of fixtureFiles) {
      it(`agrees with scikit-learn (ARI ≥ 0.99) on ${file}`, async () => {
        const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as HierarchicalFixture;
        const data = loadDataset(fx.dataset);
        const r = await hierarchicalWithMethod('tensor', data.points, data.n, data.d, fx.params);
        expect(r.method).to.match(/tensor/);
        expect(adjustedRandIndex(r.labels, fx.labels), 'ARI vs scikit-learn').to.be.at.least(0.99);
        expect(r.clusters).to.equal(fx.clusters);
        expectWellFormed(r.mergeTree, data.n);
      });
    }

    for (const linkage of LINKAGES) {
      it(`${linkage}: matches the host path's partitions on uniform data and leaks no tensors`, async () => {
        const data = uniform(300, 5, 40 + LINKAGES.indexOf(linkage));
        const before = tf.memory().numTensors;
        const host = await hierarchicalWithMethod('host', data.points, data.n, data.d, { k: 6, linkage });
        const tensor = await hierarchicalWithMethod('tensor', data.points, data.n, data.d, { k: 6, linkage });
        expect(tf.memory().numTensors).to.equal(before);
        expect(adjustedRandIndex(tensor.labels, host.labels)).to.be.at.least(0.99);
        tensor.mergeTree.distances.forEach((h, i) =>
          expect(h).to.be.closeTo(host.mergeTree.distances[i], 1e-3 * host.mergeTree.distances[i] + 1e-3),
        );
      });

      it(`${linkage}: the tensor path stops with AbortError mid-run and leaks no tensors`, async () => {
        const data = uniform(linkage === 'ward' || linkage === 'single' ? 1500 : 2500, 4, 22);
        const before = tf.memory().numTensors;
        const controller = new AbortController();
        let calls = 0;
        const err = await rejection(() =>
          hierarchicalWithMethod(
            'tensor',
            data.points,
            data.n,
            data.d,
            { k: 3, linkage },
            {
              signal: controller.signal,
              onProgress: () => {
                if (++calls === 1) controller.abort();
              },
            },
          ),
        );
        expect(err.name).to.equal('AbortError');
        expect(calls).to.equal(1);
        expect(tf.memory().numTensors).to.equal(before);
      });
    }

    it('edge cases: a single point, exact duplicates, and an unknown method', async () => {
      for (const linkage of LINKAGES) {
        const one = await hierarchicalWithMethod('tensor', Float32Array.from([3, 4]), 1, 2, { k: 1, linkage });
        expect(Array.from(one.labels)).to.deep.equal([0]);
        const rows = [...Array<number[]>(30).fill([1, 1]), ...Array<number[]>(20).fill([5, 5])];
        const r = await hierarchicalWithMethod('tensor', Float32Array.from(rows.flat()), 50, 2, { k: 2, linkage });
        expect(
          adjustedRandIndex(
            r.labels,
            rows.map((p) => p[0]),
          ),
          linkage,
        ).to.equal(1);
        expectWellFormed(r.mergeTree, 50);
      }
      const err = await rejection(() =>
        hierarchicalWithMethod('gpu' as 'host', Float32Array.from([0, 0]), 1, 2, { k: 1 }),
      );
      expect(err).to.be.instanceOf(RangeError);
    });
  });

  describe('agrees with textbook agglomerative clustering', () => {
    for (const linkage of LINKAGES) {
      it(`${linkage}: the same merge heights and the same partition for every k`, async () => {
        const data = uniform(40, 3, LINKAGES.indexOf(linkage) + 1);
        const naive = naiveAgglomerative(data, linkage);
        for (const k of [1, 2, 3, 5, 8, 40]) {
          const r = await hierarchical(data.points, data.n, data.d, { k, linkage });
          expect(samePartition(r.labels, naive.partitions.get(k)!), `k = ${k}`).to.equal(true);
          expect(r.clusters).to.equal(k);
          if (k === 3)
            r.mergeTree.distances.forEach((h, i) =>
              expect(h).to.be.closeTo(naive.heights[i], 1e-9 * naive.heights[i] + 1e-12),
            );
        }
      });
    }
  });

  describe('distanceThreshold, edge cases, output', () => {
    it('distanceThreshold gives 1 + the number of merges at or above it', async () => {
      const data = loadDataset('blobs');
      const full = await hierarchical(data.points, data.n, data.d, { k: 1 });
      const heights = full.mergeTree.distances;
      const t = (heights[heights.length - 2] + heights[heights.length - 3]) / 2;
      const cut = await hierarchical(data.points, data.n, data.d, { distanceThreshold: t });
      expect(cut.clusters).to.equal(3);
      expect(adjustedRandIndex(cut.labels, data.truth)).to.equal(1);
      // At exactly a merge height that merge counts (≥), as in scikit-learn.
      const atHeight = await hierarchical(data.points, data.n, data.d, {
        distanceThreshold: heights[heights.length - 2],
      });
      expect(atHeight.clusters).to.equal(3);
      const top = await hierarchical(data.points, data.n, data.d, {
        distanceThreshold: heights[heights.length - 1] * 2,
      });
      expect(top.clusters).to.equal(1);
      const zero = await hierarchical(data.points, data.n, data.d, { distanceThreshold: 0, linkage: 'single' });
      expect(zero.clusters).to.equal(data.n);
      expect(new Set(zero.labels).size).to.equal(data.n);
    });

    for (const linkage of LINKAGES) {
      it(`${linkage}: exact duplicates, a single point, k = 1 and k = n`, async () => {
        const rows = [...Array<number[]>(30).fill([1, 1]), ...Array<number[]>(20).fill([5, 5])];
        const points = Float32Array.from(rows.flat());
        const r = await hierarchical(points, 50, 2, { k: 2, linkage });
        expect(
          adjustedRandIndex(
            r.labels,
            rows.map((p) => p[0]),
          ),
        ).to.equal(1);
        expect(r.mergeTree.distances.filter((h) => h === 0).length).to.equal(48);
        expectWellFormed(r.mergeTree, 50);
        const one = await hierarchical(Float32Array.from([3, 4]), 1, 2, { k: 1, linkage });
        expect(Array.from(one.labels)).to.deep.equal([0]);
        expect(one.mergeTree.children).to.deep.equal([]);
        const all = await hierarchical(points, 50, 2, { k: 50, linkage });
        expect(new Set(all.labels).size).to.equal(50);
        const single = await hierarchical(points, 50, 2, { k: 1, linkage });
        expect(new Set(single.labels).size).to.equal(1);
      });
    }

    it('a constant column and d = 512 with small n', async () => {
      for (const [name, k] of [
        ['constant-column', 3],
        ['highdim', 4],
      ] as const) {
        const data = loadDataset(name);
        for (const linkage of LINKAGES) {
          const r = await hierarchical(data.points, data.n, data.d, { k, linkage });
          expect(adjustedRandIndex(r.labels, data.truth), `${name} ${linkage}`).to.be.at.least(0.97);
        }
      }
    });

    it('runHierarchical returns labels, clusters, method and extras.mergeTree', async () => {
      const data = loadDataset('moons');
      const out = await runHierarchical(data.points, data.n, data.d, { k: 2, linkage: 'single' });
      expect(out.labels).to.be.instanceOf(Int32Array);
      expect(out.clusters).to.equal(2);
      expect(out.method).to.match(/Prim/);
      expect(out.extras.linkage).to.equal('single');
      expectWellFormed(out.extras.mergeTree as MergeTree, data.n);
      expect((out.extras.clusterSizes as number[]).reduce((a, b) => a + b, 0)).to.equal(data.n);
      const ward = await runHierarchical(data.points, data.n, data.d, { k: 2 });
      expect(ward.extras.linkage, 'default linkage').to.equal('ward');
      expect(ward.method).to.match(/O\(n·d\) memory/);
    });

    it('documents its limits: O(n) ward/single, complete/average bounded by the matrix budget', () => {
      expect(HIERARCHICAL_LIMITS.ward.maxPoints).to.be.at.least(20_000);
      expect(HIERARCHICAL_LIMITS.single.maxPoints).to.be.at.least(20_000);
      expect(HIERARCHICAL_MATRIX_MAX_POINTS).to.equal(11_585);
      expect(((HIERARCHICAL_MATRIX_MAX_POINTS * (HIERARCHICAL_MATRIX_MAX_POINTS - 1)) / 2) * 8).to.be.at.most(
        512 * 2 ** 20,
      );
      for (const linkage of ['complete', 'average'] as const) {
        expect(HIERARCHICAL_LIMITS[linkage].maxPoints).to.equal(HIERARCHICAL_MATRIX_MAX_POINTS);
        expect(HIERARCHICAL_LIMITS[linkage].alternative)
          .to.match(/ward/)
          .and.to.match(/single/);
      }
    });
  });

  describe('arguments, progress and abort', () => {
    const ok = Float32Array.from([0, 0, 1, 1, 5, 5]);
    const bad: Array<[string, () => Promise<HierarchicalResult>, RegExp]> = [
      ['neither k nor distanceThreshold', () => hierarchical(ok, 3, 2, {}), /exactly one of k and distanceThreshold/],
      ['both k and distanceThreshold', () => hierarchical(ok, 3, 2, { k: 2, distanceThreshold: 1 }), /exactly one/],
      ['k = 0', () => hierarchical(ok, 3, 2, { k: 0 }), /k must be an integer between 1 and n = 3/],
      ['k > n', () => hierarchical(ok, 3, 2, { k: 4 }), /k must be/],
      ['k = 1.5', () => hierarchical(ok, 3, 2, { k: 1.5 }), /k must be/],
      [
        'negative distanceThreshold',
        () => hierarchical(ok, 3, 2, { distanceThreshold: -1 }),
        /distanceThreshold must be a finite number >= 0/,
      ],
      ['NaN distanceThreshold', () => hierarchical(ok, 3, 2, { distanceThreshold: NaN }), /distanceThreshold/],
      [
        'linkage',
        () => hierarchical(ok, 3, 2, { k: 2, linkage: 'centroid' as Linkage }),
        /linkage must be one of ward, complete, average, single/,
      ],
      ['length', () => hierarchical(ok, 4, 2, { k: 2 }), /points.length must equal n\*d/],
      [
        'NaN point',
        () => hierarchical(Float32Array.from([0, Infinity]), 1, 2, { k: 1 }),
        /row 0, column 1 is Infinity/,
      ],
      [
        'complete above its matrix limit',
        () =>
          hierarchical(new Float32Array(HIERARCHICAL_MATRIX_MAX_POINTS + 1), HIERARCHICAL_MATRIX_MAX_POINTS + 1, 1, {
            k: 2,
            linkage: 'complete',
          }),
        /exceeds the complete-linkage limit of 11585 points.*512 MiB.*'ward' or 'single'/,
      ],
    ];
    for (const [name, call, message] of bad) {
      it(`rejects ${name} with a RangeError`, async () => {
        const err = await rejection(call);
        expect(err).to.be.instanceOf(RangeError);
        expect(err.message).to.match(message);
      });
    }

    for (const linkage of LINKAGES) {
      it(`${linkage}: reports progress and stops with AbortError when aborted mid-run`, async () => {
        const data = uniform(linkage === 'ward' ? 2000 : 2500, 4, 21);
        const controller = new AbortController();
        let calls = 0;
        const err = await rejection(() =>
          hierarchical(
            data.points,
            data.n,
            data.d,
            { k: 3, linkage },
            {
              signal: controller.signal,
              onProgress: (p) => {
                expect(p.totalMerges).to.equal(data.n - 1);
                if (++calls === 1) controller.abort();
              },
            },
          ),
        );
        expect(err.name).to.equal('AbortError');
        expect(calls).to.equal(1);
      });
    }

    it('an already-aborted signal rejects before any work', async () => {
      const controller = new AbortController();
      controller.abort();
      const err = await rejection(() => hierarchical(ok, 3, 2, { k: 2 }, { signal: controller.signal }));
      expect(err.name).to.equal('AbortError');
    });
  });
});
