import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../../../ml/backend';
import {
  SOM_MAX_INLINE_CELLS,
  SOM_MAX_UNITS,
  SomParams,
  SomProgress,
  SomResult,
  runSom,
  som,
} from '../../../../ml/clustering/som/som';
import { predictSomCells } from '../../../../ml/clustering/predict';
import { Random } from '../../../../ml/random';
import { expectRejects } from '../../../support/expect-rejects';

interface Data {
  points: Float32Array;
  n: number;
  d: number;
  truth: number[];
}

function gaussian(rng: Random): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

function blobs(centres: number[][], per: number, spread: number, seed: number): Data {
  const rng = new Random(seed);
  const d = centres[0].length;
  const points = new Float32Array(centres.length * per * d);
  const truth: number[] = [];
  centres.forEach((c, l) => {
    for (let i = 0; i < per; i++) {
      const at = (l * per + i) * d;
      for (let j = 0; j < d; j++) points[at + j] = c[j] + spread * gaussian(rng);
      truth.push(l);
    }
  });
  return { points, n: centres.length * per, d, truth };
}

/** Four well-separated 3-d blobs of 100 points. */
const FOUR_BLOBS = (): Data =>
  blobs(
    [
      [0, 0, 0],
      [10, 0, 0],
      [0, 10, 0],
      [0, 0, 10],
    ],
    100,
    1,
    7,
  );

function run(data: Data, params: SomParams, progress?: SomProgress[]): Promise<SomResult> {
  return som(data.points, data.n, data.d, params, progress ? { onProgress: (p) => void progress.push(p) } : {});
}

function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2;
  return s;
}

/** BMUs are nearest units, QE and TE are what the codebook gives, hits count the labels. */
function expectConsistent(data: Data, r: SomResult): void {
  const { rows, cols } = r;
  expect(r.codebook).to.have.length(rows);
  for (const line of r.codebook) {
    expect(line).to.have.length(cols);
    for (const unit of line) expect(unit).to.have.length(data.d);
  }
  const units = r.codebook.flat();
  const hits = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  let qe = 0;
  let topoErrors = 0;
  for (let i = 0; i < data.n; i++) {
    const x = data.points.subarray(i * data.d, (i + 1) * data.d);
    const label = r.labels[i];
    expect(label).to.be.within(0, rows * cols - 1);
    hits[Math.floor(label / cols)][label % cols]++;
    const dists = units.map((u) => sqDist(x, u));
    const order = dists.map((v, u) => [v, u]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(dists[label], `point ${i} is not at a best-matching unit`).to.be.at.most(
      order[0][0] + 1e-4 * (1 + order[0][0]),
    );
    qe += Math.sqrt(dists[label]);
    if (units.length > 1) {
      const second = order[0][1] === label ? order[1][1] : order[0][1];
      if (
        Math.abs(Math.floor(label / cols) - Math.floor(second / cols)) > 1 ||
        Math.abs((label % cols) - (second % cols)) > 1
      )
        topoErrors++;
    }
  }
  expect(r.hits).to.deep.equal(hits);
  expect(r.quantizationError).to.be.closeTo(qe / data.n, 1e-6 * (1 + qe / data.n));
  if (units.length > 1) {
    // Ties between nearly equidistant units may resolve differently in float32; allow one point either way.
    expect(r.topographicError!).to.be.closeTo(topoErrors / data.n, 1.5 / data.n);
  } else {
    expect(r.topographicError).to.equal(undefined);
  }
}

/** Whether a set of cells is connected on the grid (8-neighbourhood). */
function connected(cells: Set<number>, cols: number): boolean {
  const list = [...cells];
  const seen = new Set([list[0]]);
  const stack = [list[0]];
  while (stack.length > 0) {
    const u = stack.pop()!;
    for (const v of list) {
      if (
        !seen.has(v) &&
        Math.abs(Math.floor(u / cols) - Math.floor(v / cols)) <= 1 &&
        Math.abs((u % cols) - (v % cols)) <= 1
      ) {
        seen.add(v);
        stack.push(v);
      }
    }
  }
  return seen.size === cells.size;
}

describe('ml/clustering/som', () => {
  before(async () => {
    await initComputeBackend();
  });

  describe('map quality', () => {
    for (const seed of [0, 1]) {
      it(`maps each well-separated blob to one connected patch of cells of its own (seed ${seed})`, async () => {
        const data = FOUR_BLOBS();
        const r = await run(data, { rows: 6, cols: 6, iterations: 10, seed });
        expectConsistent(data, r);
        const owner = new Map<number, number>();
        const patches = [0, 1, 2, 3].map(() => new Set<number>());
        for (let i = 0; i < data.n; i++) {
          const cell = r.labels[i];
          patches[data.truth[i]].add(cell);
          expect(owner.get(cell) ?? data.truth[i], `cell ${cell} holds points of two blobs`).to.equal(data.truth[i]);
          owner.set(cell, data.truth[i]);
        }
        for (const patch of patches) {
          expect(connected(patch, 6), `blob cells ${[...patch].join(',')} are not neighbours`).to.equal(true);
          expect(patch.size).to.be.at.least(2); // the map spreads a blob over several cells
        }
        expect(r.topographicError).to.equal(0);
      });
    }

    it('quantization error decreases with iterations', async () => {
      const data = FOUR_BLOBS();
      const qe = [];
      for (const iterations of [1, 3, 10, 30])
        qe.push((await run(data, { rows: 6, cols: 6, iterations, seed: 3 })).quantizationError);
      for (let i = 1; i < qe.length; i++)
        expect(qe[i], `QE after more iterations: ${qe.join(', ')}`).to.be.below(qe[i - 1]);
    });

    it('reports decaying learning rate and radius, and a falling quantization error, per epoch', async () => {
      const data = blobs(
        [
          [0, 0],
          [8, 0],
          [0, 8],
          [8, 8],
        ],
        300,
        1,
        2,
      );
      const progress: SomProgress[] = [];
      const r = await run(data, { rows: 5, cols: 5, iterations: 8, batchSize: 200, seed: 1 }, progress);
      expect(progress.map((p) => p.epoch)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(r.steps).to.equal(8 * 6);
      expect(progress[7].step).to.equal(r.steps);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i].learningRate).to.be.below(progress[i - 1].learningRate);
        expect(progress[i].sigma).to.be.below(progress[i - 1].sigma);
      }
      // Geometric decay from the defaults to the end values, reached on the last step.
      expect(progress[7].learningRate).to.be.closeTo(0.5 / 100, 1e-12);
      expect(progress[7].sigma).to.be.closeTo(1, 1e-12);
      expect(progress[7].epochQuantizationError).to.be.below(progress[0].epochQuantizationError);
    });

    it('is deterministic for a seed, and the seed matters', async () => {
      const data = blobs(
        [
          [0, 0, 0],
          [5, 5, 5],
        ],
        150,
        2,
        4,
      );
      const a = await run(data, { rows: 4, cols: 5, iterations: 4, seed: 9 });
      const b = await run(data, { rows: 4, cols: 5, iterations: 4, seed: 9 });
      expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
      expect(a.codebook).to.deep.equal(b.codebook);
      expect(a.quantizationError).to.equal(b.quantizationError);
      const c = await run(data, { rows: 4, cols: 5, iterations: 4, seed: 10 });
      expect(JSON.stringify(c.codebook)).to.not.equal(JSON.stringify(a.codebook));
    });

    it('learningRate 1 with a vanishing radius and full batches is Lloyd k-means: units end at the means of their points', async () => {
      const data = blobs(
        [
          [0, 0],
          [4, 0],
          [2, 3],
        ],
        60,
        1,
        6,
      );
      const r = await run(data, {
        rows: 2,
        cols: 3,
        iterations: 30,
        learningRate: 1,
        learningRateEnd: 1,
        sigma: 0.01,
        sigmaEnd: 0.01,
        seed: 0,
      });
      const units = r.codebook.flat();
      for (let u = 0; u < units.length; u++) {
        const members = data.truth.map((_, i) => i).filter((i) => r.labels[i] === u);
        if (members.length === 0) continue;
        for (let j = 0; j < data.d; j++) {
          const mean = members.reduce((acc, i) => acc + data.points[i * data.d + j], 0) / members.length;
          expect(units[u][j], `unit ${u}, feature ${j}`).to.be.closeTo(mean, 1e-5);
        }
      }
    });
  });

  describe('update rule', () => {
    it('one step moves each unit towards the mean of its points by β = 1 − (1 − α)^hits (vanishing radius)', async () => {
      const data = blobs(
        [
          [0, 0],
          [5, 0],
          [0, 5],
        ],
        40,
        1,
        12,
      );
      const rows = 2;
      const cols = 2;
      const alpha = 0.03;
      const r = await run(data, {
        rows,
        cols,
        iterations: 1,
        learningRate: alpha,
        sigma: 1e-3,
        sigmaEnd: 1e-3,
        seed: 4,
      });
      // The initial codebook: distinct random rows, the first draws of the seeded generator (white-box on purpose).
      const init = new Random(4)
        .sampleDistinct(data.n, rows * cols)
        .map((i) => Array.from(data.points.subarray(i * 2, i * 2 + 2)));
      for (let u = 0; u < rows * cols; u++) {
        const members: number[] = [];
        for (let i = 0; i < data.n; i++) {
          const x = data.points.subarray(i * 2, i * 2 + 2);
          const d2 = init.map((w) => sqDist(x, w));
          if (d2.indexOf(Math.min(...d2)) === u) members.push(i);
        }
        const beta = 1 - (1 - alpha) ** members.length;
        for (let j = 0; j < 2; j++) {
          const mean = members.length
            ? members.reduce((s, i) => s + data.points[i * 2 + j], 0) / members.length
            : init[u][j];
          const expected = init[u][j] + beta * (mean - init[u][j]);
          expect(r.codebook[Math.floor(u / cols)][u % cols][j], `unit ${u}, feature ${j}`).to.be.closeTo(
            expected,
            1e-5,
          );
        }
      }
    });
  });

  describe('runSom and prediction', () => {
    it('returns labels, cells, codebook, errors and a model that predicts the same cells', async () => {
      const data = FOUR_BLOBS();
      const out = await runSom(data.points, data.n, data.d, { rows: 5, cols: 4, iterations: 5, seed: 2 });
      expect(out.model?.flavor).to.equal('som');
      expect(out.model?.rows).to.equal(5);
      expect(out.model?.cols).to.equal(4);
      const cells = out.extras.cells as [number, number][];
      expect(cells).to.have.length(data.n);
      cells.forEach(([r, c], i) => expect(r * 4 + c).to.equal(out.labels[i]));
      expect(out.extras.quantizationError).to.be.a('number');
      expect(out.extras.topographicError).to.be.within(0, 1);
      expect(out.extras.codebook).to.deep.equal(out.model?.codebook);
      const hits = out.extras.hits as number[][];
      expect(out.clusters).to.equal(hits.flat().filter((h) => h > 0).length);
      const predicted = predictSomCells(out.model as never, data.points, data.n, data.d);
      expect(Array.from(predicted.labels)).to.deep.equal(Array.from(out.labels));
      expect(predicted.cells).to.deep.equal(cells);
    });

    it(`omits extras.cells above ${SOM_MAX_INLINE_CELLS} points`, async () => {
      const n = SOM_MAX_INLINE_CELLS + 1;
      const rng = new Random(1);
      const points = Float32Array.from({ length: n }, () => rng.nextFloat());
      const out = await runSom(points, n, 1, { rows: 1, cols: 2, iterations: 1 });
      expect(out.labels).to.have.length(n);
      expect(out.extras.cells).to.equal(undefined);
    });

    it('predictSomCells rejects malformed models', () => {
      const points = Float32Array.of(1, 2);
      expect(() => predictSomCells({ rows: 1, cols: 2, codebook: [[[1, 2]]] }, points, 1, 2)).to.throw(
        RangeError,
        /row 0/,
      );
      expect(() => predictSomCells({ rows: 0, cols: 2, codebook: [] }, points, 1, 2)).to.throw(RangeError);
      expect(() => predictSomCells({ rows: 1, cols: 1, codebook: [[[1, 2, 3]]] }, points, 1, 2)).to.throw(
        RangeError,
        /d = 2/,
      );
    });
  });

  describe('edge cases', () => {
    it('a 1×1 map with learning rate 1 is the mean of the data, with no topographic error', async () => {
      const data = blobs([[1, 2]], 200, 1, 3);
      const r = await run(data, { rows: 1, cols: 1, iterations: 20, learningRate: 1, learningRateEnd: 1 });
      expectConsistent(data, r);
      let mx = 0;
      for (let i = 0; i < data.n; i++) mx += data.points[2 * i] / data.n;
      expect(r.codebook[0][0][0]).to.be.closeTo(mx, 1e-6);
    });

    it('fewer points than units, and duplicates', async () => {
      const data: Data = {
        points: Float32Array.from([1, 1, 1, 1, 5, 5, 5, 5, 5, 5]),
        n: 5,
        d: 2,
        truth: [0, 0, 1, 1, 1],
      };
      const r = await run(data, { rows: 3, cols: 3, iterations: 5 });
      expectConsistent(data, r);
      expect(r.labels[0]).to.equal(r.labels[1]);
      expect(r.labels[2]).to.equal(r.labels[4]);
      expect(r.labels[0]).to.not.equal(r.labels[2]);
    });

    it('a constant column stays constant in the codebook', async () => {
      const base = blobs(
        [
          [0, 0],
          [6, 6],
        ],
        80,
        1,
        5,
      );
      const points = new Float32Array(base.n * 3);
      for (let i = 0; i < base.n; i++) points.set([base.points[2 * i], -3.5, base.points[2 * i + 1]], 3 * i);
      const data: Data = { ...base, points, d: 3 };
      const r = await run(data, { rows: 3, cols: 3, iterations: 5 });
      expectConsistent(data, r);
      for (const unit of r.codebook.flat()) expect(unit[1]).to.be.closeTo(-3.5, 1e-9);
    });

    it('d = 512 with small n', async () => {
      const rng = new Random(8);
      const centres = Array.from({ length: 3 }, () => Array.from({ length: 512 }, () => rng.nextFloat() * 4 - 2));
      const data = blobs(centres, 15, 0.5, 9);
      const r = await run(data, { rows: 3, cols: 3, iterations: 10 });
      expectConsistent(data, r);
      const cellsOf = [0, 1, 2].map(
        (b) => new Set(data.truth.map((t, i) => (t === b ? r.labels[i] : -1)).filter((c) => c >= 0)),
      );
      for (let a = 0; a < 3; a++)
        for (let b = a + 1; b < 3; b++) for (const c of cellsOf[a]) expect(cellsOf[b].has(c)).to.equal(false);
    });
  });

  describe('arguments', () => {
    const data = FOUR_BLOBS();
    const bad: [string, SomParams, RegExp][] = [
      ['rows 0', { rows: 0, cols: 2 }, /^rows/],
      ['fractional cols', { rows: 2, cols: 1.5 }, /^cols/],
      [`more than ${SOM_MAX_UNITS} units`, { rows: 101, cols: 100 }, /units/],
      ['iterations 0', { rows: 2, cols: 2, iterations: 0 }, /iterations/],
      ['learningRate 0', { rows: 2, cols: 2, learningRate: 0 }, /learningRate/],
      ['learningRate above 1', { rows: 2, cols: 2, learningRate: 1.5 }, /learningRate/],
      ['a negative sigma', { rows: 2, cols: 2, sigma: -1 }, /sigma/],
      ['sigmaEnd NaN', { rows: 2, cols: 2, sigmaEnd: NaN }, /sigmaEnd/],
      ['batchSize 0', { rows: 2, cols: 2, batchSize: 0 }, /batchSize/],
      ['a fractional seed', { rows: 2, cols: 2, seed: 0.5 }, /seed/],
    ];
    for (const [what, params, message] of bad) {
      it(`rejects ${what} with a RangeError`, async () => {
        await expectRejects(run(data, params), (err) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(message);
        });
      });
    }

    it('rejects malformed points with a RangeError', async () => {
      await expectRejects(som(Float32Array.of(1, 2, 3), 2, 2, { rows: 1, cols: 1 }), (err) =>
        expect(err).to.be.instanceOf(RangeError),
      );
      await expectRejects(som(Float32Array.of(1, Infinity), 1, 2, { rows: 1, cols: 1 }), (err) =>
        expect(err.message).to.match(/finite/),
      );
    });
  });

  describe('abort and memory', () => {
    it('rejects with AbortError when aborted between epochs, and frees its tensors', async () => {
      const data = FOUR_BLOBS();
      const controller = new AbortController();
      const before = tf.memory().numTensors;
      await expectRejects(
        som(
          data.points,
          data.n,
          data.d,
          { rows: 4, cols: 4, iterations: 10 },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.epoch === 2) controller.abort();
            },
          },
        ),
        (err) => expect(err.name).to.equal('AbortError'),
      );
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('rejects with AbortError before any work when already aborted', async () => {
      const data = FOUR_BLOBS();
      const controller = new AbortController();
      controller.abort();
      await expectRejects(
        som(data.points, data.n, data.d, { rows: 2, cols: 2 }, { signal: controller.signal }),
        (err) => expect(err.name).to.equal('AbortError'),
      );
    });

    it('leaves tf.memory().numTensors unchanged', async () => {
      const data = FOUR_BLOBS();
      const before = tf.memory().numTensors;
      await run(data, { rows: 3, cols: 4, iterations: 3, batchSize: 64 });
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
});
