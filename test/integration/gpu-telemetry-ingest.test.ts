import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { repoRoot } from '../../common/paths';
import { getDevice, onlineGpus, upsertDevice } from '../../db/gpus';
import { DCGM_CSV_COLUMNS } from '../../gpu/dcgm-csv';
import { JsonResponse, request, startTestApi, TestApi, withAuth } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { bearer, createTestKey, createTestTenant } from '../support/auth';

const HEADER = DCGM_CSV_COLUMNS.join(',');
const METRICS = ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_POWER_USAGE'];

type Cells = Partial<Record<(typeof DCGM_CSV_COLUMNS)[number], string>>;

function line(cells: Cells): string {
  const row: Record<string, string> = {
    timestamp: '2025-01-01T00:00:00Z',
    metric_name: 'DCGM_FI_DEV_GPU_UTIL',
    gpu_id: '0',
    device: 'nvidia0',
    uuid: 'GPU-unset',
    modelName: 'NVIDIA H100 80GB HBM3',
    Hostname: 'node-1',
    container: '',
    pod: '',
    namespace: '',
    value: '1',
    labels_raw: '"gpu=""0"",Hostname=""node-1"""',
    ...cells,
  };
  return DCGM_CSV_COLUMNS.map((c) => row[c]).join(',');
}

function expectError(res: JsonResponse, status: number, field: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.field, JSON.stringify(res.body)).to.equal(field);
  if (message) expect(res.body.error.message).to.match(message);
}

/**
 * POSTs `head` and then `next()`'s chunks until it returns undefined or the API answers, with backpressure; the bytes
 * sent when the answer came. `headers` may declare a Content-Length; without one the body is chunked.
 */
function streamUpload(
  api: TestApi,
  head: string,
  next: () => string | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; sentBytes: number }> {
  const url = new URL('/api/v1/gpus/telemetry', api.baseUrl);
  let sent = 0;
  let answered = false;
  const body = new Readable({
    read() {
      const text = sent === 0 ? head : answered ? undefined : next();
      if (text === undefined) return this.push(null);
      sent += Buffer.byteLength(text);
      this.push(text);
    },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: url.pathname,
        headers: withAuth(api, { 'content-type': 'text/csv', ...headers }),
      },
      (res) => {
        answered = true;
        const sentBytes = sent;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          req.destroy();
          const text = Buffer.concat(parts).toString();
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), sentBytes });
          } catch {
            // Not JSON (an empty answer): a failure of this test, not an uncaught error that stops the run.
            reject(new Error(`HTTP ${res.statusCode}: not a JSON body: ${JSON.stringify(text.slice(0, 200))}`));
          }
        });
      },
    );
    // The API stops reading a refused body and may close the connection while the client still writes.
    req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
    body.pipe(req);
  });
}

describe('GPU telemetry ingestion (POST /api/v1/gpus/telemetry)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  let small: TestApi;
  // Unique per run: the test database is shared by every suite.
  const tag = randomUUID().slice(0, 8);
  const gpu = (i: number | string) => `GPU-${tag}-${i}`;
  const base = Date.parse('2025-01-01T00:00:00.000Z');
  const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

  const upload = (body: string, contentType = 'text/csv') =>
    request(api, 'POST', '/api/v1/gpus/telemetry', body, { 'content-type': contentType });
  const telemetry = (id: string, query = '') =>
    request(api, 'GET', `/api/v1/gpus/${encodeURIComponent(id)}/telemetry${query}`);
  const stored = async (id: string) =>
    Number(
      (await stack.pool.query('SELECT count(*) FROM gpu_metric_samples WHERE device_id = $1', [id])).rows[0].count,
    );

  /** 2 GPUs × 4 metrics × 3 scrapes 15 s apart: 24 rows; value = 10 × scrape + metric index (+ 50 on GPU 1). */
  function scrape(ids: string[], scrapes = 3): string {
    const rows = [HEADER];
    for (let s = 0; s < scrapes; s++) {
      ids.forEach((id, g) => {
        METRICS.forEach((metric, m) => {
          rows.push(
            line({
              timestamp: at(15 * s),
              metric_name: metric,
              gpu_id: String(g),
              uuid: id,
              value: String(g * 50 + 10 * s + m),
            }),
          );
        });
      });
    }
    return rows.join('\n') + '\n';
  }

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    small = await startTestApi(stack, {}, {}, { telemetryLimits: { maxBodyBytes: 64 * 1024, maxRows: 200 } });
  });
  after(async () => {
    await api?.close();
    await small?.close();
  });

  it('stores an upload, creates its unknown devices, and serves it back', async () => {
    const [a, b] = [gpu('a'), gpu('b')];
    const res = await upload(scrape([a, b]));
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body).to.deep.include({
      rows: 24,
      inserted: 24,
      alreadyPresent: 0,
      startTime: at(0),
      endTime: at(30),
      devices: [a, b],
      devicesCreated: [a, b],
    });
    expect(res.body.links.telemetry).to.deep.equal([a, b].map((id) => `/api/v1/gpus/${id}/telemetry`));

    const listing = (await request(api, 'GET', '/api/v1/gpus')).body.gpus;
    const listedB = listing.find((g: any) => g.id === b);
    expect(listedB).to.deep.include({
      source: 'dcgm',
      name: 'NVIDIA H100 80GB HBM3',
      gpuClass: 'h100',
      host: 'node-1',
      index: 1,
      pool: null,
      workerId: null,
      memoryTotalMb: null,
      state: 'offline',
      lastSeen: at(30),
      latest: null,
    });
    // The device's last scrape, every metric of it (GPU 1: 50 + 10 × scrape 2 + metric index).
    expect(listedB.latestMetricSamples).to.deep.equal([
      { metric: 'DCGM_FI_DEV_FB_USED', recordedAt: at(30), value: 71 },
      { metric: 'DCGM_FI_DEV_GPU_TEMP', recordedAt: at(30), value: 72 },
      { metric: 'DCGM_FI_DEV_GPU_UTIL', recordedAt: at(30), value: 70 },
      { metric: 'DCGM_FI_DEV_POWER_USAGE', recordedAt: at(30), value: 73 },
    ]);

    const window = await telemetry(a, `?start_time=${at(0)}&end_time=${at(30)}`);
    expect(window.status, JSON.stringify(window.body)).to.equal(200);
    expect(window.body.samples).to.deep.equal([]); // no Kiln worker recorded any
    expect(window.body.metricSamplesTruncated).to.equal(false);
    // Oldest first, by metric name within an instant; FB_USED in MiB, POWER_USAGE in W, GPU_TEMP in °C.
    expect(window.body.metricSamples.slice(0, 4)).to.deep.equal([
      { metric: 'DCGM_FI_DEV_FB_USED', recordedAt: at(0), value: 1 },
      { metric: 'DCGM_FI_DEV_GPU_TEMP', recordedAt: at(0), value: 2 },
      { metric: 'DCGM_FI_DEV_GPU_UTIL', recordedAt: at(0), value: 0 },
      { metric: 'DCGM_FI_DEV_POWER_USAGE', recordedAt: at(0), value: 3 },
    ]);
    expect(window.body.metricSamples).to.have.length(12);
    expect(window.body.units).to.deep.equal({
      DCGM_FI_DEV_FB_USED: 'MiB',
      DCGM_FI_DEV_GPU_TEMP: '°C',
      DCGM_FI_DEV_GPU_UTIL: '%',
      DCGM_FI_DEV_POWER_USAGE: 'W',
    });

    // Both ends are inside the window; the metric filter takes a list or repeats.
    const util = await telemetry(b, `?start_time=${at(15)}&end_time=${at(30)}&metric=DCGM_FI_DEV_GPU_UTIL`);
    expect(util.body.metricSamples).to.deep.equal([
      { metric: 'DCGM_FI_DEV_GPU_UTIL', recordedAt: at(15), value: 60 },
      { metric: 'DCGM_FI_DEV_GPU_UTIL', recordedAt: at(30), value: 70 },
    ]);
    const two = await telemetry(
      b,
      `?start_time=${at(0)}&end_time=${at(0)}&metric=DCGM_FI_DEV_GPU_UTIL,DCGM_FI_DEV_POWER_USAGE`,
    );
    const repeated = await telemetry(
      b,
      `?start_time=${at(0)}&end_time=${at(0)}&metric=DCGM_FI_DEV_GPU_UTIL&metric=DCGM_FI_DEV_POWER_USAGE`,
    );
    expect(two.body.metricSamples.map((s: any) => s.value)).to.deep.equal([50, 53]);
    expect(repeated.body.metricSamples).to.deep.equal(two.body.metricSamples);
  });

  it("only a platform admin uploads: a tenant's operator or admin is a 403 and no device or sample appears", async () => {
    await createTestTenant(stack.pool, 'telemetry-beta');
    const id = gpu('pwned-by-beta');
    for (const role of ['operator', 'admin'] as const) {
      const key = await createTestKey(stack.pool, { tenantId: 'telemetry-beta', role });
      const res = await request(api, 'POST', '/api/v1/gpus/telemetry', scrape([id], 1), {
        'content-type': 'text/csv',
        ...bearer(key),
      });
      expect(res.status, `${role}: ${JSON.stringify(res.body)}`).to.equal(403);
      expect(res.body.error.code).to.equal('insufficient_role');
    }
    expect(await getDevice(stack.pool, id)).to.equal(undefined);
    expect(await stored(id)).to.equal(0);
    // The test API's own key is a platform admin (the DCGM scraper's kind of key): it may.
    const admin = await createTestKey(stack.pool, { tenantId: 'telemetry-beta', role: 'viewer', platformAdmin: true });
    const ok = await request(api, 'POST', '/api/v1/gpus/telemetry', scrape([id], 1), {
      'content-type': 'text/csv',
      ...bearer(admin),
    });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
    expect(await stored(id)).to.equal(4);
  });

  it('is idempotent: the same file again stores nothing and says so; an overlapping one stores only what is new', async () => {
    const ids = [gpu('idem-0'), gpu('idem-1')];
    const first = await upload(scrape(ids));
    expect(first.body).to.include({ rows: 24, inserted: 24, alreadyPresent: 0 });
    const again = await upload(scrape(ids));
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
    expect(again.body).to.deep.include({ rows: 24, inserted: 0, alreadyPresent: 24, devicesCreated: [] });
    expect(await stored(ids[0])).to.equal(12);
    // Four scrapes: the first three are stored already.
    const longer = await upload(scrape(ids, 4));
    expect(longer.status).to.equal(201);
    expect(longer.body).to.include({ rows: 32, inserted: 8, alreadyPresent: 24 });
    expect(await stored(ids[0])).to.equal(16);
    // A row repeated within one upload is stored once; the first value stays.
    const id = gpu('repeat');
    const repeat = await upload([HEADER, line({ uuid: id, value: '5' }), line({ uuid: id, value: '6' })].join('\n'));
    expect(repeat.body).to.include({ rows: 2, inserted: 1, alreadyPresent: 1 });
    const { body } = await telemetry(id, `?start_time=${at(0)}&end_time=${at(0)}`);
    expect(body.metricSamples).to.deep.equal([{ metric: 'DCGM_FI_DEV_GPU_UTIL', recordedAt: at(0), value: 5 }]);
  });

  it('the same file uploaded twice at once: each sample stored once, neither upload fails', async () => {
    const ids = [gpu('race-0'), gpu('race-1')];
    const [one, two] = await Promise.all([upload(scrape(ids)), upload(scrape(ids))]);
    expect([one.status, two.status].sort(), JSON.stringify([one.body, two.body])).to.deep.equal([200, 201]);
    expect(one.body.inserted + two.body.inserted).to.equal(24);
    expect(one.body.alreadyPresent + two.body.alreadyPresent).to.equal(24);
    expect(await stored(ids[1])).to.equal(12);
  });

  it('uploads the README example file as it is', async () => {
    const csv = fs.readFileSync(path.join(repoRoot, 'examples', 'dcgm-sample.csv'), 'utf8');
    const res = await upload(csv);
    expect([200, 201]).to.include(res.status);
    expect(res.body.rows).to.equal(24);
    expect(res.body.inserted + res.body.alreadyPresent).to.equal(24);
    expect(res.body.devices).to.have.length(2);
  });

  it('stores any other metric name without a unit; samples of a worker device join its own telemetry', async () => {
    const id = gpu('worker');
    const workerId = `worker-${tag}`;
    await upsertDevice(stack.pool, {
      id,
      workerId,
      pool: 'gpu',
      host: 'host-w',
      deviceIndex: 2,
      name: 'NVIDIA L4',
      memoryTotalMb: 23_034,
      source: 'nvidia-smi',
    });
    try {
      const res = await upload(
        [HEADER, line({ uuid: id, metric_name: 'DCGM_FI_PROF_NVLINK_TX_BYTES', value: '12345678901' })].join('\n'),
      );
      expect(res.body).to.include({ inserted: 1 });
      expect(res.body.devicesCreated).to.deep.equal([]);
      // The worker's device stays the worker's: source, pool and state untouched.
      expect(await getDevice(stack.pool, id)).to.include({
        source: 'nvidia-smi',
        pool: 'gpu',
        state: 'online',
        workerId,
      });
      const { body } = await telemetry(id, `?start_time=${at(0)}&end_time=${at(0)}`);
      expect(body.metricSamples).to.deep.equal([
        { metric: 'DCGM_FI_PROF_NVLINK_TX_BYTES', recordedAt: at(0), value: 12345678901 },
      ]);
      expect(body.units).to.deep.equal({ DCGM_FI_PROF_NVLINK_TX_BYTES: null });
    } finally {
      await stack.pool.query(`UPDATE gpu_devices SET state = 'offline' WHERE id = $1`, [id]);
    }
  });

  it('a device known from telemetry alone is never routed to nor counted in a pool; a worker reporting it takes it over', async () => {
    const id = gpu('adopt');
    await upload([HEADER, line({ uuid: id, modelName: 'Tesla T4', timestamp: new Date().toISOString() })].join('\n'));
    expect(await getDevice(stack.pool, id)).to.include({ source: 'dcgm', state: 'offline', gpuClass: 't4' });
    expect((await onlineGpus(stack.pool, 't4', 60)).map((d) => d.id)).to.not.include(id);
    const status = (await request(api, 'GET', '/api/v1/resources/status')).body;
    expect(status.pools.flatMap((p: any) => p.devices.map((d: any) => d.id))).to.not.include(id);
    const seed = (await request(api, 'GET', '/api/gpu/status')).body;
    expect(seed.gpus.map((g: any) => g.id)).to.not.include(id);

    const workerId = `worker-adopt-${tag}`;
    await upsertDevice(stack.pool, {
      id,
      workerId,
      pool: 'gpu',
      host: 'host-t4',
      deviceIndex: 0,
      name: 'Tesla T4',
      gpuClass: `t4-${tag}`,
      memoryTotalMb: 15_360,
      source: 'nvidia-smi',
    });
    try {
      expect(await getDevice(stack.pool, id)).to.include({ source: 'nvidia-smi', state: 'online', workerId });
      expect((await onlineGpus(stack.pool, `t4-${tag}`, 60)).map((d) => d.id)).to.deep.equal([id]);
      // Its uploaded samples stay with it.
      expect(await stored(id)).to.equal(1);
    } finally {
      await stack.pool.query(`UPDATE gpu_devices SET state = 'offline' WHERE id = $1`, [id]);
    }
  });

  describe('a bad row is a 400 naming its row and column, and nothing of the upload is stored', () => {
    const cases: Array<[string, Cells, string]> = [
      ['NaN', { value: 'NaN' }, 'value'],
      ['+Inf', { value: '+Inf' }, 'value'],
      ['an empty value', { value: '' }, 'value'],
      ['a utilization over 100 %', { value: '250' }, 'value'],
      ['a timestamp that is no time', { timestamp: '30/11/2026 09:00' }, 'timestamp'],
      ['a timestamp without a zone', { timestamp: '2025-01-01T00:00:00' }, 'timestamp'],
      ['a day that does not exist', { timestamp: '2025-02-29T00:00:00Z' }, 'timestamp'],
      ['epoch seconds', { timestamp: '1924992000' }, 'timestamp'],
      [
        'a timestamp over a day in the future',
        { timestamp: new Date(Date.now() + 2 * 86_400_000).toISOString() },
        'timestamp',
      ],
      ['an empty uuid', { uuid: '' }, 'uuid'],
      ['an empty metric name', { metric_name: '' }, 'metric_name'],
      ['a gpu_id that is no index', { gpu_id: 'nvidia0' }, 'gpu_id'],
    ];
    cases.forEach(([what, cells, column], i) => {
      it(what, async () => {
        const id = gpu(`bad-${i}`);
        const rows = [HEADER, line({ uuid: id }), line({ uuid: id, metric_name: 'DCGM_FI_DEV_FB_USED' })];
        rows.push(line({ uuid: id, timestamp: at(15), ...cells }), line({ uuid: id, timestamp: at(30) }));
        const res = await upload(rows.join('\n'));
        expectError(res, 400, `row 4, column "${column}"`, /^row 4, column /);
        expect(res.body.error.code).to.equal('invalid_request');
        expect(await stored(id)).to.equal(0);
        expect(await getDevice(stack.pool, id)).to.equal(undefined);
      });
    });

    const deviceCells: Array<[string, Cells, string]> = [
      ['a NUL in modelName', { modelName: 'NVIDIA\0H100' }, 'modelName'],
      ['a NUL in Hostname', { Hostname: 'node\0-1' }, 'Hostname'],
      ['a modelName over 256 characters', { modelName: 'H'.repeat(257) }, 'modelName'],
      ['a Hostname over 256 characters', { Hostname: 'n'.repeat(257) }, 'Hostname'],
    ];
    deviceCells.forEach(([what, cells, column], i) => {
      it(`a new device's ${what.replace(/^a /, '')}`, async () => {
        const [id, other] = [gpu(`text-${i}`), gpu(`text-${i}-new`)];
        const rows = [HEADER, line({ uuid: id }), line({ uuid: id, metric_name: 'DCGM_FI_DEV_FB_USED' })];
        rows.push(line({ uuid: other, timestamp: at(15), ...cells }), line({ uuid: id, timestamp: at(30) }));
        const res = await upload(rows.join('\n'));
        expectError(res, 400, `row 4, column "${column}"`, /^row 4, column /);
        expect(await stored(id)).to.equal(0);
        expect(await getDevice(stack.pool, other)).to.equal(undefined);
      });
    });

    it('a row with a missing field names the row', async () => {
      const id = gpu('short');
      const res = await upload([HEADER, line({ uuid: id }), 'a,b,c'].join('\n'));
      expectError(res, 400, 'row 3', /has 3 fields; the header has 12/);
      expect(await getDevice(stack.pool, id)).to.equal(undefined);
    });

    it('a bad row after the first batches were written rolls them back', async () => {
      const id = gpu('late');
      // 25,000 good rows (the store writes every 10,000) and then a bad one on line 25,002.
      const rows = [HEADER];
      for (let i = 0; i < 25_000; i++) rows.push(line({ uuid: id, timestamp: at(i), value: String(i % 100) }));
      rows.push(line({ uuid: id, timestamp: at(25_000), value: 'Infinity' }));
      const res = await upload(rows.join('\n'));
      expectError(res, 400, 'row 25002, column "value"', /not a finite number/);
      expect(await stored(id)).to.equal(0);
      expect(await getDevice(stack.pool, id)).to.equal(undefined);
    });
  });

  describe('the header and the body', () => {
    it('an unknown column, a missing one, a repeated one: 400 naming the header', async () => {
      expectError(await upload(`${HEADER.replace('uuid', 'UUID')}\n${line({})}`), 400, 'header', /"UUID", not a known/);
      expectError(await upload(`${HEADER.replace(',value', '')}\n${line({})}`), 400, 'header', /lacks "value"/);
      expectError(await upload(`${HEADER},pod\n${line({})},x`), 400, 'header', /names "pod" twice/);
    });
    it('an empty body or a header without rows: 400 naming the body', async () => {
      expectError(await upload(''), 400, 'body', /the body is empty/);
      expectError(await upload(`${HEADER}\n`), 400, 'body', /header but no data rows/);
    });
    it('another content type: 415', async () => {
      const res = await upload(`${HEADER}\n${line({ uuid: gpu('json') })}`, 'application/json');
      expect(res.status).to.equal(415);
      expect(res.body.error.field).to.equal('content-type');
    });
    it('a charset other than UTF-8 or US-ASCII: 415 naming content-type; those two are read', async () => {
      const id = gpu('charset');
      const res = await upload(`${HEADER}\n${line({ uuid: id })}`, 'text/csv; charset=latin1');
      expectError(res, 415, 'content-type', /latin1/);
      expect(await stored(id)).to.equal(0);
      for (const charset of ['utf-8', 'UTF-8', 'us-ascii']) {
        const ok = await upload(`${HEADER}\n${line({ uuid: id })}`, `text/csv; charset=${charset}`);
        expect(ok.status, `${charset}: ${JSON.stringify(ok.body)}`).to.be.oneOf([200, 201]);
      }
    });
  });

  describe('limits: 413 while the body streams in, nothing stored', () => {
    it('a declared Content-Length over the limit is refused before reading', async () => {
      const res = await streamUpload(small, `${HEADER}\n`, () => undefined, { 'content-length': String(1024 * 1024) });
      expectError({ status: res.status, body: res.body, headers: new Headers() }, 413, 'body', /exceeds the limit/);
    });

    it('a chunked body is refused at the first byte past the limit, long before it ends', async () => {
      const id = gpu('bytes');
      let i = 0;
      // 50 MB of valid rows would follow; the limit is 64 KiB (and 200 rows: these rows are long to hit bytes first).
      const res = await streamUpload(small, `${HEADER}\n`, () =>
        i++ < 200_000 ? `${line({ uuid: id, timestamp: at(i), labels_raw: 'x'.repeat(2_000) })}\n` : undefined,
      );
      expectError({ status: res.status, body: res.body, headers: new Headers() }, 413, 'body');
      expect(res.sentBytes, `${(res.sentBytes / 1e6).toFixed(1)} MB sent`).to.be.below(8e6);
      expect(await getDevice(stack.pool, id)).to.equal(undefined);
    });

    it('the first row past the row limit is refused by its number, mid-stream', async () => {
      const id = gpu('rows');
      let i = 0;
      const res = await streamUpload(small, `${HEADER}\n`, () =>
        i++ < 1_000_000 ? `${line({ uuid: id, timestamp: at(i) })}\n` : undefined,
      );
      expectError({ status: res.status, body: res.body, headers: new Headers() }, 413, 'row 202', /limit of 200/);
      expect(res.sentBytes, `${(res.sentBytes / 1e6).toFixed(1)} MB sent`).to.be.below(8e6);
      expect(await stored(id)).to.equal(0);
    });

    it('a large upload streams: 150,000 rows (about 25 MB) under the default limits', async () => {
      const id = gpu('large');
      let i = 0;
      // Chunks of 100 rows (a client writes blocks, not lines).
      const block = (): string => {
        let text = '';
        for (let k = 0; k < 100; k++, i++) {
          text += `${line({ uuid: id, timestamp: at(Math.floor(i / 4)), metric_name: METRICS[i % 4], value: '7' })}\n`;
        }
        return text;
      };
      const res = await streamUpload(api, `${HEADER}\n`, () => (i < 150_000 ? block() : undefined));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ rows: 150_000, inserted: 150_000 });
      expect(await stored(id)).to.equal(150_000);
    });
  });

  describe('reading: the time window and the metric filter are checked', () => {
    const id = () => gpu('a');
    it('a start after the end', async () =>
      expectError(await telemetry(id(), `?start_time=${at(30)}&end_time=${at(0)}`), 400, 'query.start_time'));
    it('a day that does not exist', async () =>
      expectError(await telemetry(id(), '?start_time=2025-02-29T00:00:00Z'), 400, 'query.start_time'));
    it('a window over 7 days', async () =>
      expectError(await telemetry(id(), `?start_time=${at(0)}&end_time=${at(8 * 86_400)}`), 400, 'query.end_time'));
    it('a metric name that cannot be one', async () => {
      const res = await telemetry(id(), `?start_time=${at(0)}&end_time=${at(30)}&metric=gpu-util`);
      expect(res.status).to.equal(400);
      expect(res.body.error.field).to.match(/^query\.metric/);
    });
    it('an unknown device', async () => expectError(await telemetry(gpu('none')), 404, 'id'));
    it('a window over the row bound is cut at 10,000 samples and says so', async () => {
      const res = await telemetry(gpu('large'), `?start_time=${at(0)}&end_time=${at(40_000)}`);
      expect(res.status).to.equal(200);
      expect(res.body.metricSamples).to.have.length(10_000);
      expect(res.body).to.include({ metricSamplesTruncated: true, metricSamplesMaxRows: 10_000 });
    });
  });
  describe('stalled uploads cannot take the pool', () => {
    let strict: TestApi;
    before(async () => {
      strict = await startTestApi(stack, {}, {}, { telemetryLimits: { maxConcurrentUploads: 1, idleTimeoutMs: 300 } });
    });
    after(async () => strict?.close());

    const inTransaction = async () =>
      Number(
        (
          await stack.pool.query(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()",
          )
        ).rows[0].count,
      );

    it('past the cap 429 with Retry-After; a body that stops sending is a 408 naming body, rolled back', async () => {
      const id = gpu('stalled');
      // More rows than a batch (10,000), so the transaction opens, then nothing more and no end.
      const rows = [HEADER];
      for (let i = 0; i <= 10_000; i++) rows.push(line({ uuid: id, timestamp: at(i) }));
      const url = new URL('/api/v1/gpus/telemetry', strict.baseUrl);
      const stalled = new Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }>(
        (resolve, reject) => {
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              method: 'POST',
              path: url.pathname,
              headers: withAuth(strict, { 'content-type': 'text/csv' }),
            },
            (res) => {
              const parts: Buffer[] = [];
              res.on('data', (c: Buffer) => parts.push(c));
              res.on('end', () => {
                req.destroy();
                resolve({
                  status: res.statusCode ?? 0,
                  body: JSON.parse(Buffer.concat(parts).toString()),
                  headers: res.headers,
                });
              });
            },
          );
          req.on('error', reject);
          req.write(rows.join('\n') + '\n');
        },
      );
      // Waits for the stalled upload to hold its transaction (no wall clock: it ends with the 408 below otherwise).
      let held = 0;
      const answered = stalled.then(() => true);
      while (held === 0 && !(await Promise.race([answered, Promise.resolve(false)]))) held = await inTransaction();
      expect(held, 'the stalled upload opened a transaction').to.be.greaterThan(0);

      const toStrict = (body: string) =>
        request(strict, 'POST', '/api/v1/gpus/telemetry', body, { 'content-type': 'text/csv' });
      const second = await toStrict(scrape([gpu('second')]));
      expect(second.status, JSON.stringify(second.body)).to.equal(429);
      expect(second.body.error.code).to.equal('too_many_requests');
      expect(second.headers.get('retry-after')).to.match(/^[1-9][0-9]*$/);

      const first = await stalled;
      expect(first.status, JSON.stringify(first.body)).to.equal(408);
      expect(first.body.error).to.include({ code: 'request_timeout', field: 'body' });
      expect(await stored(id)).to.equal(0);
      expect(await inTransaction()).to.equal(0);
      // The slot is free again.
      const third = await toStrict(scrape([gpu('third')]));
      expect(third.status, JSON.stringify(third.body)).to.equal(201);
    });
  });
});
