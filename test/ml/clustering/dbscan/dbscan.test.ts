import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../../../../common/paths';
import { initComputeBackend } from '../../../../ml/backend';
import {
  DBSCAN_LIMIT,
  DbscanMethod,
  DbscanParams,
  DbscanResult,
  chooseDbscanMethod,
  dbscan,
  dbscanWithMethod,
  runDbscan,
} from '../../../../ml/clustering/dbscan/dbscan';
import { adjustedRandIndex } from '../../../../ml/clustering/agreement';
import { Random } from '../../../../ml/random';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'sklearn');
const METHODS: DbscanMethod[] = ['kd-tree', 'tensor'];

interface Data {
  points: Float32Array;
  n: number;
  d: number;
}
interface DbscanFixture {
  dataset: string;
  params: DbscanParams;
  labels: number[];
  corePoints: number[];
  clusters: number;
  noisePoints: number;
}

function loadDataset(name: string): Data & { truth: number[] } {
  const ds = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as {
    points: number[][];
    truth: number[];
  };
  return { points: Float32Array.from(ds.points.flat()), n: ds.points.length, d: ds.points[0].length, truth: ds.truth };
}

const dbscanFixtures = fs
  .readdirSync(FIXTURES)
  .filter((f) => /^dbscan(-cosine)?__.+\.json$/.test(f))
  .sort();

function uniform(n: number, d: number, seed: number, scale = 10): Data {
  const rng = new Random(seed);
  return { points: Float32Array.from({ length: n * d }, () => rng.nextFloat() * scale), n, d };
}

/** Gaussian blobs (spread 1) around `centers` random centres in [-10, 10]^d. */
function blobs(n: number, d: number, centers: number, seed: number): Data {
  const rng = new Random(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const c = Array.from({ length: centers * d }, () => (rng.nextFloat() - 0.5) * 20);
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = rng.nextInt(centers);
    for (let j = 0; j < d; j++) points[i * d + j] = c[k * d + j] + gaussian();
  }
  return { points, n, d };
}

/**
 * scikit-learn's algorithm written out literally (brute-force neighbourhoods in float64, then dbscan_inner's
 * depth-first expansion from core points in index order), as an independent reference.
 */
function referenceDbscan(data: Data, eps: number, minPoints: number): { labels: Int32Array; core: Uint8Array } {
  const { points, n, d } = data;
  const neighbours: number[][] = [];
  for (let i = 0; i < n; i++) {
    const list: number[] = [];
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (points[i * d + k] - points[j * d + k]) ** 2;
      if (s <= eps * eps) list.push(j);
    }
    neighbours.push(list);
  }
  const core = Uint8Array.from(neighbours, (l) => (l.length >= minPoints ? 1 : 0));
  const labels = new Int32Array(n).fill(-1);
  let label = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== -1 || !core[i]) continue;
    const stack = [i];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (labels[p] !== -1) continue;
      labels[p] = label;
      if (core[p]) for (const q of neighbours[p]) if (labels[q] === -1) stack.push(q);
    }
    label++;
  }
  return { labels, core };
}

describe('ml/clustering/dbscan', function () {
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

  describe('scikit-learn fixtures', () => {
    it('has the DBSCAN fixtures (run test/fixtures/sklearn/make_fixtures.py)', () => {
      expect(dbscanFixtures.length).to.be.at.least(10);
      expect(dbscanFixtures.some((f) => f.startsWith('dbscan-cosine__'))).to.equal(true);
    });

    for (const file of dbscanFixtures) {
      it(`matches sklearn.cluster.DBSCAN on ${file}: labels, core points, noise (both neighbour searches)`, async () => {
        const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as DbscanFixture;
        const data = loadDataset(fx.dataset);
        expect(fx.labels.length).to.equal(data.n);
        for (const method of METHODS) {
          const r = await dbscanWithMethod(method, data.points, data.n, data.d, fx.params);
          const ari = adjustedRandIndex(r.labels, fx.labels);
          expect(ari, `${method} ARI vs scikit-learn`).to.be.at.least(0.99);
          const core = [...r.isCore.keys()].filter((i) => r.isCore[i] === 1);
          expect(core, `${method} core points`).to.deep.equal(fx.corePoints);
          expect(r.corePoints).to.equal(fx.corePoints.length);
          const noise = (labels: ArrayLike<number>) =>
            Array.from(labels, (l, i) => (l === -1 ? i : -1)).filter((i) => i >= 0);
          expect(noise(r.labels), `${method} noise points`).to.deep.equal(noise(fx.labels));
          expect(r.noisePoints).to.equal(fx.noisePoints);
          expect(r.clusters).to.equal(fx.clusters);
          // Border points go where scikit-learn's expansion order puts them, so even the numbering is the same.
          expect(Array.from(r.labels), `${method} labels`).to.deep.equal(fx.labels);
        }
      });
    }

    it('picks the method by backend and dimension, and names it', async () => {
      expect(chooseDbscanMethod('wasm', false, 2)).to.equal('kd-tree');
      expect(chooseDbscanMethod('cpu', false, 4096)).to.equal('kd-tree');
      expect(chooseDbscanMethod('tfjs-node-gpu', true, 3)).to.equal('kd-tree');
      expect(chooseDbscanMethod('tfjs-node-gpu', true, 16)).to.equal('tensor');
      expect(chooseDbscanMethod('tfjs-node', false, 512)).to.equal('tensor');
      const data = loadDataset('blobs');
      const r = await dbscan(data.points, data.n, data.d, { eps: 0.9, minPoints: 5 });
      const backend = await initComputeBackend();
      const expected = chooseDbscanMethod(backend.name, false, 2) === 'kd-tree' ? 'kd-tree' : 'blocked tensor';
      expect(r.method).to.include(expected).and.to.include(backend.name);
    });
  });

  describe('agrees with a literal implementation of scikit-learn', () => {
    const cases: Array<[string, Data, number, number]> = [
      ['2-d uniform, many border points', uniform(600, 2, 1), 0.45, 6],
      ['3-d uniform over many kd-tree leaves', uniform(3000, 3, 2), 0.9, 8],
      ['7-d, eps at the scale of the clusters', uniform(500, 7, 3, 2), 0.75, 4],
      ['40-d blobs', blobs(300, 40, 3, 4), 7.5, 4],
    ];
    for (const [name, data, eps, minPoints] of cases) {
      it(`${name}: identical labels and core points with both methods`, async () => {
        const ref = referenceDbscan(data, eps, minPoints);
        const refClusters = Math.max(-1, ...ref.labels) + 1;
        expect(refClusters, 'a meaningful case: several clusters').to.be.at.least(2);
        expect(
          ref.labels.some((l) => l === -1),
          'a meaningful case: some noise',
        ).to.equal(true);
        for (const method of METHODS) {
          const r = await dbscanWithMethod(method, data.points, data.n, data.d, { eps, minPoints });
          expect(Array.from(r.isCore), `${method} core`).to.deep.equal(Array.from(ref.core));
          expect(Array.from(r.labels), `${method} labels`).to.deep.equal(Array.from(ref.labels));
          expect(r.clusters).to.equal(refClusters);
        }
        // The kd-tree without its recorded neighbours (what happens when n·(minPoints − 1) is over budget).
        const searched = await dbscanWithMethod(
          'kd-tree',
          data.points,
          data.n,
          data.d,
          { eps, minPoints },
          {},
          { neighbourStoreMaxEntries: 0 },
        );
        expect(Array.from(searched.labels), 'kd-tree without recorded neighbours').to.deep.equal(
          Array.from(ref.labels),
        );
      });
    }

    it('cosine: the same as euclidean on normalised rows, and as the literal cosine rule', async () => {
      const data = uniform(400, 5, 9, 1);
      const eps = 0.02;
      // Literal: 1 − cos ≤ eps, in float64.
      const { points, n, d } = data;
      const norms = Array.from({ length: n }, (_, i) => Math.hypot(...points.subarray(i * d, (i + 1) * d)));
      const counts = Array.from({ length: n }, (_, i) => {
        let c = 0;
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += points[i * d + k] * points[j * d + k];
          if (i === j || 1 - dot / (norms[i] * norms[j]) <= eps) c++;
        }
        return c;
      });
      for (const method of METHODS) {
        const r = await dbscanWithMethod(method, points, n, d, { eps, minPoints: 5, metric: 'cosine' });
        expect(Array.from(r.isCore), method).to.deep.equal(counts.map((c) => (c >= 5 ? 1 : 0)));
        expect(r.clusters).to.be.at.least(2);
      }
    });
  });

  describe('edge cases', () => {
    it('many exact duplicates: one core cluster, and a small group of duplicates stays noise', async () => {
      const rows = [...Array<number[]>(200).fill([1, 2]), ...Array<number[]>(3).fill([50, 50]), [100, 100]];
      const points = Float32Array.from(rows.flat());
      for (const method of METHODS) {
        const r = await dbscanWithMethod(method, points, rows.length, 2, { eps: 1e-6, minPoints: 5 });
        expect(r.clusters).to.equal(1);
        expect(r.corePoints).to.equal(200);
        expect(Array.from(r.labels.subarray(0, 200)).every((l) => l === 0)).to.equal(true);
        expect(Array.from(r.labels.subarray(200))).to.deep.equal([-1, -1, -1, -1]);
        // 4 duplicates (the point itself + 3) are enough for minPoints = 4.
        const r4 = await dbscanWithMethod(method, points, rows.length, 2, { eps: 1e-6, minPoints: 3 });
        expect(r4.clusters).to.equal(2);
        expect(Array.from(r4.labels.subarray(200))).to.deep.equal([1, 1, 1, -1]);
      }
    });

    it('a single cluster when eps covers everything; all noise when minPoints exceeds n', async () => {
      const data = uniform(120, 3, 5);
      for (const method of METHODS) {
        const all = await dbscanWithMethod(method, data.points, data.n, data.d, { eps: 100, minPoints: 10 });
        expect(all.clusters).to.equal(1);
        expect(all.noisePoints).to.equal(0);
        expect(new Set(all.labels).size).to.equal(1);
        const none = await dbscanWithMethod(method, data.points, data.n, data.d, { eps: 100, minPoints: 121 });
        expect(none.clusters).to.equal(0);
        expect(none.noisePoints).to.equal(120);
        expect(Array.from(none.labels).every((l) => l === -1)).to.equal(true);
      }
    });

    it('minPoints = 1 makes every point core (isolated points are clusters of one); n = 1 works', async () => {
      const points = Float32Array.from([0, 0, 10, 10, 0.5, 0]);
      for (const method of METHODS) {
        const r = await dbscanWithMethod(method, points, 3, 2, { eps: 1, minPoints: 1 });
        expect(Array.from(r.labels)).to.deep.equal([0, 1, 0]);
        const one = await dbscanWithMethod(method, Float32Array.from([3, 4]), 1, 2, { eps: 1, minPoints: 1 });
        expect(Array.from(one.labels)).to.deep.equal([0]);
        const lonely = await dbscanWithMethod(method, Float32Array.from([3, 4]), 1, 2, { eps: 1, minPoints: 2 });
        expect(Array.from(lonely.labels)).to.deep.equal([-1]);
      }
    });

    it('d = 512 with small n (the highdim fixture) on both methods', async () => {
      const data = loadDataset('highdim');
      expect(data.d).to.equal(512);
      for (const method of METHODS) {
        const r = await dbscanWithMethod(method, data.points, data.n, data.d, { eps: 40, minPoints: 5 });
        expect(adjustedRandIndex(r.labels, data.truth)).to.equal(1);
      }
    });

    it('runDbscan returns a ClusteringOutput with noise = -1 and the counts in extras', async () => {
      const data = loadDataset('moons');
      const out = await runDbscan(data.points, data.n, data.d, { eps: 0.15, minPoints: 5 });
      expect(out.labels).to.be.instanceOf(Int32Array);
      expect(out.clusters).to.equal(2);
      expect(out.method).to.be.a('string');
      expect(out.extras).to.include({ corePoints: 298, noisePoints: 1, eps: 0.15, minPoints: 5, metric: 'euclidean' });
      expect((out.extras.clusterSizes as number[]).reduce((a, b) => a + b, 0)).to.equal(299);
      expect(DBSCAN_LIMIT.maxPoints).to.be.a('number').and.to.be.greaterThan(100_000);
      expect(DBSCAN_LIMIT.why).to.be.a('string');
    });
  });

  describe('arguments, progress and abort', () => {
    const ok = Float32Array.from([0, 0, 1, 1]);
    const bad: Array<[string, () => Promise<DbscanResult>, RegExp]> = [
      ['eps 0', () => dbscan(ok, 2, 2, { eps: 0, minPoints: 2 }), /eps must be a finite number > 0/],
      ['eps NaN', () => dbscan(ok, 2, 2, { eps: NaN, minPoints: 2 }), /eps/],
      ['eps negative', () => dbscan(ok, 2, 2, { eps: -1, minPoints: 2 }), /eps/],
      ['minPoints 0', () => dbscan(ok, 2, 2, { eps: 1, minPoints: 0 }), /minPoints must be a positive integer/],
      ['minPoints 2.5', () => dbscan(ok, 2, 2, { eps: 1, minPoints: 2.5 }), /minPoints/],
      [
        'metric',
        () => dbscan(ok, 2, 2, { eps: 1, minPoints: 2, metric: 'manhattan' as 'cosine' }),
        /metric must be one of euclidean, cosine/,
      ],
      ['length', () => dbscan(ok, 3, 2, { eps: 1, minPoints: 2 }), /points.length must equal n\*d/],
      ['n', () => dbscan(ok, 0, 2, { eps: 1, minPoints: 2 }), /n \(number of points\)/],
      ['d', () => dbscan(ok, 2, 1.5, { eps: 1, minPoints: 2 }), /d \(number of dimensions\)/],
      [
        'NaN point',
        () => dbscan(Float32Array.from([0, NaN]), 1, 2, { eps: 1, minPoints: 2 }),
        /row 0, column 1 is NaN/,
      ],
      [
        'not Float32Array',
        () => dbscan([0, 0] as unknown as Float32Array, 1, 2, { eps: 1, minPoints: 2 }),
        /Float32Array/,
      ],
      [
        'cosine zero row',
        () => dbscan(Float32Array.from([1, 0, 0, 0]), 2, 2, { eps: 0.1, minPoints: 2, metric: 'cosine' }),
        /row 1 is all zeros/,
      ],
      ['method', () => dbscanWithMethod('grid' as DbscanMethod, ok, 2, 2, { eps: 1, minPoints: 2 }), /method must be/],
      [
        'n above DBSCAN_LIMIT',
        () =>
          dbscan(new Float32Array(DBSCAN_LIMIT.maxPoints + 1), DBSCAN_LIMIT.maxPoints + 1, 1, { eps: 1, minPoints: 2 }),
        /exceeds the DBSCAN limit of 1000000 points.*minibatch-kmeans/,
      ],
    ];
    for (const [name, call, message] of bad) {
      it(`rejects ${name} with a RangeError`, async () => {
        let caught: unknown;
        try {
          await call();
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(RangeError);
        expect((caught as Error).message).to.match(message);
      });
    }

    for (const method of METHODS) {
      it(`${method}: reports progress for every pass and stops with AbortError when aborted mid-run`, async () => {
        const data = uniform(3000, 3, 11);
        const phases = new Set<string>();
        await dbscanWithMethod(
          method,
          data.points,
          data.n,
          data.d,
          { eps: 0.9, minPoints: 8 },
          {
            onProgress: (p) => void phases.add(String(p.phase)),
          },
        );
        expect([...phases]).to.include.members(['count neighbours', 'connect core points', 'assign border points']);

        const controller = new AbortController();
        let calls = 0;
        let caught: unknown;
        const before = tf.memory().numTensors;
        try {
          await dbscanWithMethod(
            method,
            data.points,
            data.n,
            data.d,
            { eps: 0.9, minPoints: 8 },
            {
              signal: controller.signal,
              onProgress: () => {
                if (++calls === 1) controller.abort(new Error('user cancelled'));
              },
            },
          );
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(Error);
        expect((caught as Error).name).to.equal('AbortError');
        expect(calls).to.equal(1);
        expect(tf.memory().numTensors).to.equal(before);
      });
    }

    it('an already-aborted signal rejects before any work', async () => {
      const controller = new AbortController();
      controller.abort();
      let caught: unknown;
      try {
        await dbscan(
          ok,
          2,
          2,
          { eps: 1, minPoints: 2 },
          { signal: controller.signal, onProgress: () => expect.fail('no progress') },
        );
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).name).to.equal('AbortError');
    });
  });
});
