import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createApp } from '../api/app';
import { ApiDeps } from '../api/context';
import { createApiMetrics } from '../api/metrics';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { createIngestedDevices, createMetricStaging, insertMetricSamples, MetricSample } from '../db/gpu-metrics';
import { createPool, inTransaction } from '../db/pool';
import { createTestKey } from '../test/support/auth';
import { DCGM_CSV_COLUMNS, DcgmCsvReader } from '../gpu/dcgm-csv';
import { freePort } from '../launcher/free-port';
import { startEmbeddedPostgres } from '../launcher/embedded-postgres';
import { migrate } from '../migrations/migrator';

/**
 * GPU telemetry ingestion (POST /api/v1/gpus/telemetry) against PostgreSQL's own COPY of the same file, in one run.
 *
 * The file: a flattened DCGM exporter scrape, GPUS devices × 4 metrics (GPU_UTIL %, FB_USED MiB, GPU_TEMP °C,
 * POWER_USAGE W) × SCRAPES instants 15 s apart, with the exporter's labels (labels_raw), written to a temporary file.
 * The stack: an embedded PostgreSQL (migrated) and the real Koa app in this process, with the API's pool and its query
 * deadlines (no Temporal: the route does not use it).
 *
 * - baseline: `COPY dcgm_plain FROM STDIN (FORMAT csv, HEADER)` of the file through pg-copy-streams into a table with
 *   the CSV's columns, typed, no key and no index: what loading the bytes costs Postgres itself.
 * - ingest: the file POSTed over loopback HTTP (streamed from disk), into an empty gpu_metric_samples: parse,
 *   per-row validation, devices created, COPY into staging and INSERT ... ON CONFLICT into the keyed table, one
 *   transaction.
 * - reupload: the same file again (every sample present: the idempotent path).
 * Each is run RUNS times, interleaved (baseline, ingest, reupload, ...) so that load from other processes falls on all
 * of them; medians are reported. ratio = ingest records/s ÷ baseline records/s.
 *
 * Where the time goes, in the same runs: `parse` (the CSV reader alone over the file: csv-parse and the row checks, no
 * database) and the store alone for the parsed samples in 10,000-row batches in one transaction, two ways:
 * `storeCopy` (what the API does: COPY into a staging table, INSERT ... ON CONFLICT DO NOTHING) and `storeUnnest`
 * (batched multi-row INSERT ... SELECT FROM unnest($1::text[], ...) ON CONFLICT DO NOTHING, the alternative).
 *
 *   npm run build:test && node dist/bench/telemetry-ingest.js                 # 8 GPUs × 7,500 scrapes = 240,000 rows
 *   node dist/bench/telemetry-ingest.js --gpus 8 --scrapes 2500 --runs 3 --out bench/results/x.json
 */
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const GPUS = arg('gpus', 8);
const SCRAPES = arg('scrapes', 7_500);
const RUNS = arg('runs', 3);
const OUT = argText('out');
const START_MS = Date.UTC(2026, 10, 30, 0, 0, 0);

/** Writes the scrape file; returns its rows and bytes. Values follow a smooth, plausible load curve. */
function writeScrape(file: string): { rows: number; bytes: number } {
  const fd = fs.openSync(file, 'w');
  let rows = 0;
  let bytes = 0;
  const write = (text: string) => {
    bytes += fs.writeSync(fd, text);
  };
  write(`${DCGM_CSV_COLUMNS.join(',')}\n`);
  const host = 'gpu-node-17.cluster.local';
  const model = 'NVIDIA H100 80GB HBM3';
  for (let s = 0; s < SCRAPES; s++) {
    const timestamp = new Date(START_MS + s * 15_000).toISOString();
    let block = '';
    for (let g = 0; g < GPUS; g++) {
      const uuid = `GPU-bench${String(g).padStart(3, '0')}-8b7e-4b6b-9a5e-3c1d2e4f6a70`;
      const load = 0.5 + 0.45 * Math.sin((s + g * 97) / 40);
      const values: Array<[string, string]> = [
        ['DCGM_FI_DEV_GPU_UTIL', String(Math.round(load * 100))],
        ['DCGM_FI_DEV_FB_USED', String(Math.round(20_000 + load * 55_000))],
        ['DCGM_FI_DEV_GPU_TEMP', String(Math.round(35 + load * 40))],
        ['DCGM_FI_DEV_POWER_USAGE', (80 + load * 600).toFixed(3)],
      ];
      const pod = g < 4 ? `trainer-${g}` : '';
      const labels =
        `"gpu=""${g}"",UUID=""${uuid}"",device=""nvidia${g}"",modelName=""${model}"",Hostname=""${host}"",` +
        `DCGM_FI_DRIVER_VERSION=""550.54.15""${pod ? `,container=""main"",pod=""${pod}"",namespace=""ml""` : ''}"`;
      for (const [metric, value] of values) {
        block += `${timestamp},${metric},${g},nvidia${g},${uuid},${model},${host},${pod ? 'main' : ''},${pod},${pod ? 'ml' : ''},${value},${labels}\n`;
        rows += 1;
      }
    }
    write(block);
  }
  fs.closeSync(fd);
  return { rows, bytes };
}

const PLAIN_TABLE = `CREATE UNLOGGED TABLE IF NOT EXISTS dcgm_plain (
  "timestamp" timestamptz, metric_name text, gpu_id integer, device text, uuid text, "modelName" text,
  "Hostname" text, container text, pod text, namespace text, value float8, labels_raw text)`;

/** COPY of the file into the plain table (emptied first); seconds. */
async function baseline(pool: Pool, file: string): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('TRUNCATE dcgm_plain');
    const started = process.hrtime.bigint();
    await pipeline(
      fs.createReadStream(file, { highWaterMark: 256 * 1024 }),
      client.query(copyFrom('COPY dcgm_plain FROM STDIN (FORMAT csv, HEADER true)')),
    );
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    client.release();
  }
}

/** POSTs the file, streamed from disk; seconds and the answer. */
function post(baseUrl: string, file: string, key: string): Promise<{ seconds: number; status: number; body: any }> {
  const url = new URL('/api/v1/gpus/telemetry', baseUrl);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: url.pathname,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'text/csv',
          'content-length': String(fs.statSync(file).size),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(parts).toString()),
          }),
        );
      },
    );
    req.on('error', reject);
    fs.createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(req);
  });
}

const BATCH = 10_000;

/** The reader alone over the file; seconds and the samples. */
async function parseOnly(file: string): Promise<{ seconds: number; samples: MetricSample[] }> {
  const started = process.hrtime.bigint();
  const reader = new DcgmCsvReader(
    fs.createReadStream(file, { highWaterMark: 256 * 1024 }),
    loadConfig({}).api.telemetryLimits,
  );
  const samples: MetricSample[] = [];
  for await (const batch of reader.batches()) for (const s of batch.samples) samples.push(s);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, samples };
}

/** Stores `samples` into an empty gpu_metric_samples in batches, one transaction; seconds. */
async function storeOnly(pool: Pool, samples: MetricSample[], how: 'copy' | 'unnest'): Promise<number> {
  await pool.query(`DELETE FROM gpu_devices WHERE source = 'dcgm'`);
  const ids = [...new Set(samples.map((s) => s.deviceId))];
  await createIngestedDevices(
    pool,
    ids.map((id, index) => ({ id, index, name: 'bench', gpuClass: null, host: 'bench', lastSeen: new Date() })),
  );
  await pool.query('VACUUM ANALYZE gpu_metric_samples');
  const started = process.hrtime.bigint();
  await inTransaction(pool, async (client) => {
    if (how === 'copy') await createMetricStaging(client);
    for (let i = 0; i < samples.length; i += BATCH) {
      const batch = samples.slice(i, i + BATCH);
      if (how === 'copy') {
        await insertMetricSamples(client, batch);
      } else {
        await client.query(
          `INSERT INTO gpu_metric_samples (device_id, recorded_at, metric, value)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::float8[])
           ON CONFLICT (device_id, recorded_at, metric) DO NOTHING`,
          [
            batch.map((s) => s.deviceId),
            batch.map((s) => new Date(s.recordedAtMs)),
            batch.map((s) => s.metric),
            batch.map((s) => s.value),
          ],
        );
      }
    }
  });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-telemetry-'));
  fs.chmodSync(dir, 0o755); // the postgres user must reach its data directory inside
  const file = path.join(dir, 'dcgm.csv');
  const { rows, bytes } = writeScrape(file);
  console.error(`[bench] ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB in ${file}`);
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  const config = loadConfig({}).api;
  const pool = createPool(pg.url, 10, createLogger({ level: 'silent' }), {
    connectMs: config.timeouts.postgresConnectMs,
    queryMs: config.timeouts.postgresQueryMs,
  });
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('the bench has no Temporal');
      },
    },
  );
  const loadBefore = os.loadavg();
  let server: http.Server | undefined;
  try {
    await migrate(pool);
    await pool.query(PLAIN_TABLE);
    const app = createApp({
      pool,
      temporal: unused,
      jobs: unused,
      metrics: createApiMetrics(),
      limits: config.limits,
      bodyLimits: config.bodyLimits,
      telemetryLimits: config.telemetryLimits,
      namespace: 'default',
      gpuFallbackSeconds: config.gpuFallbackSeconds,
      browser: config.browser,
      log: createLogger({ level: 'silent' }),
    } as ApiDeps);
    server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const key = await createTestKey(pool, { role: 'operator', platformAdmin: true });
    const { rows: pgVersion } = await pool.query<{ server_version: string }>('SHOW server_version');

    const runs = {
      baseline: [] as number[],
      ingest: [] as number[],
      reupload: [] as number[],
      parse: [] as number[],
      storeCopy: [] as number[],
      storeUnnest: [] as number[],
    };
    const load: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      await pool.query(`DELETE FROM gpu_devices WHERE source = 'dcgm'`); // samples go with them (cascade)
      await pool.query('VACUUM ANALYZE gpu_metric_samples');
      runs.baseline.push(await baseline(pool, file));
      const fresh = await post(baseUrl, file, key);
      if (fresh.status !== 201 || fresh.body.inserted !== rows) {
        throw new Error(`ingest answered ${fresh.status}: ${JSON.stringify(fresh.body).slice(0, 500)}`);
      }
      runs.ingest.push(fresh.seconds);
      const again = await post(baseUrl, file, key);
      if (again.status !== 200 || again.body.alreadyPresent !== rows) {
        throw new Error(`re-upload answered ${again.status}: ${JSON.stringify(again.body).slice(0, 500)}`);
      }
      runs.reupload.push(again.seconds);
      const parsed = await parseOnly(file);
      runs.parse.push(parsed.seconds);
      runs.storeCopy.push(await storeOnly(pool, parsed.samples, 'copy'));
      runs.storeUnnest.push(await storeOnly(pool, parsed.samples, 'unnest'));
      load.push(os.loadavg()[0]);
      console.error(
        `[bench] run ${r + 1}: COPY ${runs.baseline[r].toFixed(2)} s, ingest ${fresh.seconds.toFixed(2)} s, ` +
          `re-upload ${again.seconds.toFixed(2)} s, parse ${parsed.seconds.toFixed(2)} s, ` +
          `store copy ${runs.storeCopy[r].toFixed(2)} s / unnest ${runs.storeUnnest[r].toFixed(2)} s, ` +
          `load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const summary = (seconds: number[]) => ({
      runsS: seconds.map((s) => round(s)),
      medianS: round(median(seconds)),
      recordsPerS: Math.round(rows / median(seconds)),
    });
    const baselineStats = summary(runs.baseline);
    const ingestStats = summary(runs.ingest);
    const reuploadStats = summary(runs.reupload);
    const result = {
      bench: 'telemetry-ingest',
      date: new Date().toISOString(),
      commit: gitCommit(),
      file: { gpus: GPUS, metrics: 4, scrapes: SCRAPES, rows, bytes, bytesPerRow: round(bytes / rows, 1) },
      runs: RUNS,
      baseline: {
        what: 'COPY dcgm_plain FROM STDIN (FORMAT csv, HEADER) of the same file: typed columns, no key, no index',
        ...baselineStats,
      },
      ingest: {
        what: 'POST /api/v1/gpus/telemetry over loopback into an empty gpu_metric_samples (validate, COPY to staging, INSERT ON CONFLICT)',
        ...ingestStats,
        mbPerS: round(bytes / 1e6 / median(runs.ingest), 1),
      },
      reupload: { what: 'the same file again: every sample already present (200, inserted 0)', ...reuploadStats },
      ratio: round(ingestStats.recordsPerS / baselineStats.recordsPerS),
      reuploadRatio: round(reuploadStats.recordsPerS / baselineStats.recordsPerS),
      stages: {
        what: 'the same runs, stage by stage: the CSV reader alone (no database), and the store alone for the parsed samples (10,000-row batches, one transaction, empty table)',
        parse: summary(runs.parse),
        storeCopy: {
          what: 'COPY into staging + INSERT ... ON CONFLICT (what the API does)',
          ...summary(runs.storeCopy),
        },
        storeUnnest: { what: 'INSERT ... SELECT FROM unnest(arrays) ON CONFLICT', ...summary(runs.storeUnnest) },
      },
      target: { recordsPerS: 10_000, met: ingestStats.recordsPerS >= 10_000 },
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        node: process.version,
        postgres: pgVersion[0]?.server_version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageBefore: loadBefore.map((x) => round(x, 2)),
        loadAverageAfterEachRun: load.map((x) => round(x, 2)),
        loadAverageAfter: os.loadavg().map((x) => round(x, 2)),
        note:
          'the cores are shared with other engineers building and testing at the same time: the absolute figures are ' +
          'noisy, the ratio (both sides measured interleaved in one run, on one machine and one Postgres) less so; ' +
          'client, API and Postgres share the cores',
      },
    };
    const text = JSON.stringify(result, null, 2);
    console.log(text);
    if (OUT) fs.writeFileSync(OUT, `${text}\n`);
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await pool.end().catch(() => undefined);
    await pg.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
