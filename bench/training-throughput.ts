import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../common/config';
import { repoRoot } from '../common/paths';
import { Table } from '../datasets/table';
import { initComputeBackend } from '../ml/backend';
import { applyComputeConfig } from '../ml/compute-config';
import { Random } from '../ml/random';
import { train } from '../ml/training/train';

/**
 * Training throughput (training rows per second) of Kiln's train() (in-process, no HTTP or Temporal) on an MLP with 64
 * features → 128-64-32 relu → 4 classes, adam, at batch sizes 32 and 256, against Keras (TensorFlow) on the same data
 * and architecture in the same run. One JSON object: per batch size { kilnSamplesPerSecond, kerasSamplesPerSecond,
 * ratio = kiln / keras } (below 1: Kiln is slower).
 *
 * Both sides train on every row (no validation split), with standardised features, for the same number of epochs, and
 * count batch time only (Kiln's samplesPerSecond; Keras's per-epoch wall time from a callback).
 *
 *   npm run bench:training
 *   KILN_BENCH_ROWS=5000 KILN_BENCH_EPOCHS=2 npm run bench:training
 *
 * Keras runs from the venv bench:clustering uses (KILN_SKLEARN_PYTHON, else ~/.cache/kiln/sklearn-venv); TensorFlow is
 * installed into it on first use (tensorflow-cpu from PyPI, once). When that fails, baseline is null with the reason.
 */
const N = Number(process.env.KILN_BENCH_ROWS ?? 20_000);
const EPOCHS = Number(process.env.KILN_BENCH_EPOCHS ?? 3);
const D = 64;
const LAYERS = [128, 64, 32];
const CLASSES = ['alpha', 'beta', 'gamma', 'delta'];
const BATCH_SIZES = [32, 256];
const LEARNING_RATE = 0.001;

function kerasPython(): { python?: string; reason?: string } {
  try {
    let python = process.env.KILN_SKLEARN_PYTHON;
    if (!python) {
      const venv = path.join(loadConfig(process.env).launcher.cacheDir, 'sklearn-venv');
      python = path.join(venv, 'bin', 'python');
      if (!fs.existsSync(python)) {
        console.error(`[bench] creating ${venv} (once)`);
        execFileSync('python3', ['-m', 'venv', venv], { stdio: ['ignore', 2, 2] });
        execFileSync(python, ['-m', 'pip', 'install', '--quiet', 'numpy'], { stdio: ['ignore', 2, 2] });
      }
    }
    try {
      execFileSync(python, ['-c', 'import tensorflow'], { stdio: 'ignore' });
    } catch {
      console.error(`[bench] installing tensorflow-cpu into ${python} (once; large)`);
      execFileSync(python, ['-m', 'pip', 'install', '--quiet', 'tensorflow-cpu'], { stdio: ['ignore', 2, 2] });
      execFileSync(python, ['-c', 'import tensorflow'], { stdio: 'ignore' });
    }
    return { python };
  } catch (err) {
    return { reason: `TensorFlow is not available in the Python venv: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Gaussian blobs: 64 number columns f0..f63 and a string target `label` with 4 classes. */
function data(): { table: Table; x: Float32Array; labels: Int32Array } {
  const rng = new Random(21);
  const centers = CLASSES.map(() => Array.from({ length: D }, () => (rng.nextFloat() - 0.5) * 2));
  const values = new Float64Array(N * (D + 1));
  const x = new Float32Array(N * D);
  const labels = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const c = rng.nextInt(CLASSES.length);
    for (let j = 0; j < D; j++) {
      const v = Math.fround(centers[c][j] + 1.5 * rng.nextGaussian());
      values[i * (D + 1) + j] = v;
      x[i * D + j] = v;
    }
    values[i * (D + 1) + D] = c;
    labels[i] = c;
  }
  const columns = [
    ...Array.from({ length: D }, (_, j) => ({ name: `f${j}`, type: 'number' as const })),
    { name: 'label', type: 'string' as const, levels: CLASSES },
  ];
  return { table: { columns, rows: N, values }, x, labels };
}

async function run(): Promise<void> {
  applyComputeConfig(loadConfig(process.env).compute);
  const backend = (await initComputeBackend()).name;
  const { table, x, labels } = data();
  const { python, reason } = kerasPython();
  const dataFile = path.join(os.tmpdir(), `kiln-bench-train-${process.pid}.f32`);
  const labelFile = path.join(os.tmpdir(), `kiln-bench-train-${process.pid}.i32`);
  fs.writeFileSync(dataFile, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
  fs.writeFileSync(labelFile, Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
  const cases: Record<string, unknown>[] = [];
  try {
    for (const batchSize of BATCH_SIZES) {
      // Per-epoch wall time from the onEpoch hook (no validation set and one checkpoint at the end, so it is batch time
      // plus a little bookkeeping): lets the steady state (after the first epoch) be compared with Keras's too.
      const epochMs: number[] = [];
      let last = performance.now();
      const kiln = await train(
        {
          table,
          target: 'label',
          spec: { task: 'classification', layers: LAYERS.map((units) => ({ units, activation: 'relu' as const })) },
          options: {
            epochs: EPOCHS,
            batchSize,
            learningRate: LEARNING_RATE,
            optimizer: 'adam',
            validationSplit: 0,
            seed: 1,
            checkpointEvery: EPOCHS,
          },
        },
        {
          onEpoch: () => {
            const now = performance.now();
            epochMs.push(Number((now - last).toFixed(1)));
            last = now;
          },
        },
      );
      const steady = epochMs.slice(1).reduce((a, b) => a + b, 0);
      const row: Record<string, unknown> = {
        batchSize,
        epochs: EPOCHS,
        kilnSamplesPerSecond: Math.round(kiln.samplesPerSecond),
        kilnSamplesPerSecondAfterFirstEpoch:
          epochMs.length > 1 ? Math.round((N * (epochMs.length - 1) * 1000) / steady) : null,
        kilnEpochMs: epochMs,
        kilnAccuracy: Number((kiln.finalMetrics as { accuracy: number }).accuracy.toFixed(4)),
      };
      if (python) {
        const spec = {
          n: N,
          d: D,
          classes: CLASSES.length,
          layers: LAYERS,
          batchSize,
          epochs: EPOCHS,
          learningRate: LEARNING_RATE,
          seed: 1,
          dataFile,
          labelFile,
        };
        const out = JSON.parse(
          execFileSync(python, [path.join(repoRoot, 'bench', 'training', 'keras_case.py'), JSON.stringify(spec)], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
            maxBuffer: 1 << 26,
          })
            .trim()
            .split('\n')
            .pop()!,
        ) as {
          samplesPerSecond: number;
          samplesPerSecondAfterFirstEpoch: number | null;
          epochMs: number[];
          accuracy: number;
          tensorflow: string;
          keras: string;
        };
        Object.assign(row, {
          kerasSamplesPerSecond: Math.round(out.samplesPerSecond),
          kerasSamplesPerSecondAfterFirstEpoch:
            out.samplesPerSecondAfterFirstEpoch === null ? null : Math.round(out.samplesPerSecondAfterFirstEpoch),
          kerasEpochMs: out.epochMs,
          kerasAccuracy: Number(out.accuracy.toFixed(4)),
          ratio: Number((kiln.samplesPerSecond / out.samplesPerSecond).toFixed(3)),
          ratioAfterFirstEpoch:
            out.samplesPerSecondAfterFirstEpoch && epochMs.length > 1
              ? Number(((N * (epochMs.length - 1) * 1000) / steady / out.samplesPerSecondAfterFirstEpoch).toFixed(3))
              : null,
          baselineVersion: `tensorflow ${out.tensorflow}, keras ${out.keras}`,
        });
      }
      cases.push(row);
    }
  } finally {
    fs.rmSync(dataFile, { force: true });
    fs.rmSync(labelFile, { force: true });
  }
  console.log(
    JSON.stringify({
      bench: 'training-throughput',
      rows: N,
      features: D,
      layers: LAYERS,
      classes: CLASSES.length,
      optimizer: 'adam',
      learningRate: LEARNING_RATE,
      backend,
      cpus: os.cpus().length,
      cases,
      baseline: python ? { name: 'Keras model.fit (TensorFlow CPU), same data, architecture and optimizer' } : null,
      ...(python
        ? {
            ratio:
              'per case: kilnSamplesPerSecond / kerasSamplesPerSecond over all epochs (below 1: Kiln is slower); ratioAfterFirstEpoch: the same without the first epoch (Keras traces its graph there)',
          }
        : { baselineUnavailable: reason }),
    }),
  );
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
