import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, repoRoot } from '../common/paths';
import { Table } from '../datasets/table';
import { Random } from '../ml/random';
import { validateTable } from '../ml/validation/validate';

/**
 * Kiln's data validation (profile + every check + drift of every column against a reference, in-process) against
 * the same checks written with pandas + numpy + scipy (bench/validation/pandas_case.py), on the same generated data,
 * in one run. Prints one JSON object: { rows, columns, runs, kilnMs, pandasMs, ratio, ... } with the medians of
 * `runs` timed runs on each side; ratio = kilnMs / pandasMs (below 1: Kiln is faster). Data loading is not timed on
 * either side: both start from the tables in memory (Python reads a float64 little-endian file first).
 * `agreement` compares the per-column KS statistics, KS p-values and PSI of the two sides.
 *
 *   npm run bench:validation                      # 1,000,000 rows × 32 numeric columns, median of 3
 *   npm run bench:validation -- --rows 100000 --runs 5
 *
 * pandas/scipy run from a venv outside the repo (KILN_VALIDATION_PYTHON, else ~/.cache/kiln/validation-venv,
 * created on first use from PyPI).
 */
function python(): string {
  if (process.env.KILN_VALIDATION_PYTHON) return process.env.KILN_VALIDATION_PYTHON;
  const venv = path.join(cacheDir(), 'validation-venv');
  const bin = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(bin)) {
    console.error(`[bench] creating ${venv} with numpy, scipy and pandas (once)`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(bin, ['-m', 'pip', 'install', '--quiet', 'numpy', 'scipy', 'pandas'], { stdio: 'inherit' });
  }
  return bin;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/**
 * A rows × columns numeric table, seeded. Column j is normal with its own location and scale; in the current table
 * every fourth column is shifted by 0.5 sd and every eighth scaled by 1.6, so a quarter of the features drift.
 */
function generate(rows: number, columns: number, seed: number, current: boolean): Table {
  const rng = new Random(seed);
  const values = new Float64Array(rows * columns);
  const loc = Array.from({ length: columns }, (_, j) => j - columns / 2);
  const scale = Array.from({ length: columns }, (_, j) => 1 + (j % 5));
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < columns; j++) {
      let z = rng.nextGaussian();
      if (current && j % 8 === 7) z *= 1.6;
      else if (current && j % 4 === 3) z += 0.5;
      values[r * columns + j] = loc[j] + scale[j] * z;
    }
  }
  return {
    columns: Array.from({ length: columns }, (_, j) => ({ name: `x${j}`, type: 'number' }) as const),
    rows,
    values,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function writeTable(table: Table, file: string): void {
  fs.writeFileSync(file, Buffer.from(table.values.buffer, table.values.byteOffset, table.values.byteLength));
}

function main(): void {
  const rows = arg('rows', 1_000_000);
  const columns = arg('columns', 32);
  const runs = arg('runs', 3);
  const bin = python();
  const reference = generate(rows, columns, 11, false);
  const current = generate(rows, columns, 12, true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-validation-'));
  try {
    const refFile = path.join(dir, 'reference.f64');
    const curFile = path.join(dir, 'current.f64');
    writeTable(reference, refFile);
    writeTable(current, curFile);

    const kilnMs: number[] = [];
    let report = validateTable({ table: current, reference });
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      report = validateTable({ table: current, reference });
      kilnMs.push(performance.now() - t0);
    }
    const heapMb = Math.round(process.memoryUsage().rss / 2 ** 20);

    const spec = { rows, columns, runs, reference: refFile, current: curFile, bins: 10, epsilon: 1e-4, margin: 0.1 };
    const out = JSON.parse(
      execFileSync(bin, [path.join(repoRoot, 'bench', 'validation', 'pandas_case.py'), JSON.stringify(spec)], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      }),
    ) as { runsMs: number[]; ks: Array<[number, number]>; psi: number[]; duplicates: number };

    const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));
    let ksStat = 0;
    let ksP = 0;
    let psi = 0;
    report.drift.forEach((d, j) => {
      ksStat = Math.max(ksStat, rel(d.ks?.statistic ?? NaN, out.ks[j][0]));
      ksP = Math.max(ksP, rel(d.ks?.pValue ?? NaN, out.ks[j][1]));
      psi = Math.max(psi, rel(d.psi, out.psi[j]));
    });
    const k = median(kilnMs);
    const p = median(out.runsMs);
    console.log(
      JSON.stringify({
        rows,
        columns,
        runs,
        kilnMs: Math.round(k),
        pandasMs: Math.round(p),
        ratio: Number((k / p).toFixed(2)),
        kilnRunsMs: kilnMs.map(Math.round),
        pandasRunsMs: out.runsMs.map(Math.round),
        kilnRssMb: heapMb,
        checks: report.summary.total,
        driftedFeatures: report.summary.driftedFeatures.length,
        agreement: { ksStatisticMaxRelDiff: ksStat, ksPValueMaxRelDiff: ksP, psiMaxRelDiff: psi },
        node: process.version,
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
