import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JSONParser } from '@streamparser/json';
import { repoRoot } from '../common/paths';
import { tableSha256 } from '../datasets/encode';
import { DatasetLimits, DEFAULT_LIMITS } from '../datasets/limits';
import { parseJsonBody } from '../datasets/parse-json';
import { ByteSource, limitedStream } from '../datasets/read-body';
import { Table } from '../datasets/table';
import { jsonFieldNamer, TableBuilder } from '../datasets/table-builder';
import { Random } from '../ml/random';

/**
 * Kiln's streaming JSON tokenizer (datasets/json-tokenizer.ts, as parseJsonBody uses it) against @streamparser/json
 * on the same JSON upload, `{"name": "bench", "data": [[15 numbers, "label"], ...]}` of about 100 MB: throughput
 * (MB/s, 10^6 bytes of body per second) and peak RSS (MiB, the process's maxRSS), each the median of several runs.
 *
 * Every run is a fresh child process (so RSS peaks do not mix), and the two parsers alternate. Both read the same file
 * in the same 64 KiB chunks through the same byte limit (limitedStream) and build the same Table with the same
 * TableBuilder: Kiln through parseJsonBody; @streamparser/json through a JSONParser with `paths: ['$.data.*']`,
 * `keepStack: false` (it emits each row, then forgets it) and 64-byte string and number buffers, each row it emits
 * going to TableBuilder.addRow. Each child reports its table's sha256; the two must agree (`sameTable`). The peak RSS
 * of both includes the table itself (rows × 16 float64, grown by doubling). ratio = kiln / baseline: above 1 for
 * throughput, or below 1 for RSS, means Kiln's tokenizer does better.
 *
 *   npm run bench:json-parser                   # prints one JSON object
 *   KILN_BENCH_MB=20 KILN_BENCH_RUNS=3 npm run bench:json-parser
 */
const TARGET_MB = Number(process.env.KILN_BENCH_MB ?? 100);
const RUNS = Math.max(1, Number(process.env.KILN_BENCH_RUNS ?? 5));
const CHUNK_BYTES = 64 * 1024;
const NUMBER_COLUMNS = 15;
const LABELS = ['alpha', 'beta', 'gamma', 'delta'];
const BASELINE = '@streamparser/json';

type Parser = 'kiln' | 'baseline';

interface RunResult {
  seconds: number;
  maxRssBytes: number;
  rows: number;
  sha256: string;
}

/** Writes the upload to `file`: rows of numbers of assorted shapes (integers, decimals, exponents) and a label. */
function writeInput(file: string): { bytes: number; rows: number } {
  const rng = new Random(7);
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let rows = 0;
  const write = (text: string): void => {
    bytes += fs.writeSync(fd, text);
  };
  try {
    write('{"name": "bench", "data": [\n');
    while (bytes < TARGET_MB * 1e6) {
      let text = '';
      for (let r = 0; r < 1000; r++) {
        const cells: string[] = [];
        for (let j = 0; j < NUMBER_COLUMNS; j++) {
          const x = rng.nextGaussian() * 10 ** (j % 5);
          cells.push(j % 5 === 4 ? x.toExponential(6) : j % 3 === 0 ? String(Math.round(x)) : x.toFixed(j % 7));
        }
        cells.push(JSON.stringify(LABELS[rng.nextInt(LABELS.length)]));
        text += `${rows === 0 ? '' : ',\n'}[${cells.join(',')}]`;
        rows++;
      }
      write(text);
    }
    write('\n]}\n');
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, rows };
}

/** The file in fresh 64 KiB Buffers, as an HTTP request body arrives. */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = fs.readSync(fd, chunk, 0, CHUNK_BYTES, null);
      if (n === 0) return;
      yield n === CHUNK_BYTES ? chunk : chunk.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The same table through @streamparser/json: each element of `data` is emitted, then added as a row. */
async function parseWithBaseline(source: ByteSource, limits: DatasetLimits): Promise<Table> {
  const builder = new TableBuilder(limits, { namer: jsonFieldNamer('data'), field: 'data' });
  // Buffered strings and numbers: its faster setting (the default, 0, concatenates them piece by piece).
  const parser = new JSONParser({ paths: ['$.data.*'], keepStack: false, stringBufferSize: 64, numberBufferSize: 64 });
  parser.onValue = ({ value, key }) => builder.addRow(value, key as number);
  for await (const chunk of limitedStream(source, limits.maxBodyBytes)) parser.write(chunk);
  if (!parser.isEnded) parser.end();
  return builder.finish();
}

async function child(parser: Parser, file: string): Promise<void> {
  const bytes = fs.statSync(file).size;
  const limits: DatasetLimits = { ...DEFAULT_LIMITS, maxBodyBytes: bytes, maxRows: 1e8, maxCells: 1e9 };
  const started = process.hrtime.bigint();
  const table =
    parser === 'kiln'
      ? (await parseJsonBody(fileChunks(file), limits)).table
      : await parseWithBaseline(fileChunks(file), limits);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: RunResult = {
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rows: table.rows,
    sha256: tableSha256(table),
  };
  process.stdout.write(JSON.stringify(result));
}

function runChild(parser: Parser, file: string): RunResult {
  const out = execFileSync(process.execPath, [__filename, '--child', parser, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as RunResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function summary(name: string, runs: RunResult[], bytes: number): Record<string, unknown> {
  const mbPerSecond = runs.map((r) => bytes / 1e6 / r.seconds);
  const peakRssMiB = runs.map((r) => r.maxRssBytes / 2 ** 20);
  return {
    name,
    mbPerSecond: round(median(mbPerSecond), 1),
    peakRssMiB: round(median(peakRssMiB), 1),
    runs: runs.map((_, i) => ({ mbPerSecond: round(mbPerSecond[i], 1), peakRssMiB: round(peakRssMiB[i], 1) })),
  };
}

function main(): void {
  const file = path.join(os.tmpdir(), `kiln-bench-json-parser-${process.pid}.json`);
  try {
    console.error(`[bench] writing a ${TARGET_MB} MB upload to ${file}`);
    const { bytes, rows } = writeInput(file);
    const results: Record<Parser, RunResult[]> = { kiln: [], baseline: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const parser of ['kiln', 'baseline'] as const) {
        const r = runChild(parser, file);
        if (r.rows !== rows) throw new Error(`${parser} read ${r.rows} rows, expected ${rows}`);
        results[parser].push(r);
        console.error(`[bench] run ${i + 1}/${RUNS} ${parser}: ${(bytes / 1e6 / r.seconds).toFixed(1)} MB/s`);
      }
    }
    const kiln = summary('kiln (datasets/json-tokenizer.ts via parseJsonBody)', results.kiln, bytes);
    const baseline = summary(BASELINE, results.baseline, bytes);
    const manifest = path.join(repoRoot, 'node_modules', '@streamparser', 'json', 'package.json');
    const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
    const hashes = new Set([...results.kiln, ...results.baseline].map((r) => r.sha256));
    console.log(
      JSON.stringify(
        {
          benchmark: 'json-parser',
          input: { bytes, rows, columns: NUMBER_COLUMNS + 1, chunkBytes: CHUNK_BYTES, runs: RUNS },
          kiln,
          baseline: { ...baseline, version },
          ratio: {
            throughput: round((kiln.mbPerSecond as number) / (baseline.mbPerSecond as number), 2),
            peakRss: round((kiln.peakRssMiB as number) / (baseline.peakRssMiB as number), 2),
          },
          sameTable: hashes.size === 1,
        },
        null,
        2,
      ),
    );
  } finally {
    fs.rmSync(file, { force: true });
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3] as Parser, process.argv[4]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main();
}
