import { expect } from 'chai';
import { DomainError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { DEFAULT_TELEMETRY_LIMITS, TelemetryLimits } from '../../common/telemetry-limits';
import { DCGM_CSV_COLUMNS, DcgmBatch, DcgmCsvReader } from '../../gpu/dcgm-csv';

const HEADER = DCGM_CSV_COLUMNS.join(',');
const UUID = 'GPU-5fd4a2c1-8b7e-4b6b-9a5e-3c1d2e4f6a70';

type Cells = Partial<Record<(typeof DCGM_CSV_COLUMNS)[number], string>>;

/** One CSV line in the exporter's column order, from defaults and `cells`. */
function line(cells: Cells = {}): string {
  const row: Record<string, string> = {
    timestamp: '2026-11-30T09:00:00Z',
    metric_name: 'DCGM_FI_DEV_GPU_UTIL',
    gpu_id: '0',
    device: 'nvidia0',
    uuid: UUID,
    modelName: 'NVIDIA H100 80GB HBM3',
    Hostname: 'node-1',
    container: '',
    pod: '',
    namespace: '',
    value: '42',
    labels_raw: '',
    ...cells,
  };
  return DCGM_CSV_COLUMNS.map((c) => row[c]).join(',');
}

async function* chunks(parts: string[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.from(part);
}

async function read(
  body: string | string[],
  limits: Partial<TelemetryLimits> = {},
  batchRows?: number,
): Promise<{ reader: DcgmCsvReader; batches: DcgmBatch[] }> {
  const reader = new DcgmCsvReader(
    chunks(typeof body === 'string' ? [body] : body),
    { ...DEFAULT_TELEMETRY_LIMITS, ...limits },
    batchRows,
  );
  const batches: DcgmBatch[] = [];
  for await (const batch of reader.batches()) batches.push(batch);
  return { reader, batches };
}

async function refusal(body: string | string[], limits: Partial<TelemetryLimits> = {}): Promise<DomainError> {
  try {
    await read(body, limits);
  } catch (err) {
    expect(err).to.be.instanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('the body was accepted');
}

describe('gpu/dcgm-csv', () => {
  it('reads samples and describes each device from its first row', async () => {
    const body = [
      HEADER,
      line(),
      line({ metric_name: 'DCGM_FI_DEV_FB_USED', value: '61234' }),
      line({ timestamp: '2026-11-30T09:00:15Z', metric_name: 'DCGM_FI_DEV_POWER_USAGE', value: '612.5' }),
      line({ uuid: 'GPU-b', gpu_id: '1', modelName: 'NVIDIA A100-SXM4-80GB', Hostname: 'node-2', value: '0' }),
      // A later row of a known device does not redescribe it.
      line({ modelName: 'something else', Hostname: 'elsewhere', timestamp: '2026-11-30T08:59:45Z' }),
    ].join('\n');
    const { reader, batches } = await read(body);
    expect(batches).to.have.length(1);
    expect(batches[0].samples).to.deep.equal([
      { deviceId: UUID, recordedAtMs: Date.UTC(2026, 10, 30, 9), metric: 'DCGM_FI_DEV_GPU_UTIL', value: 42 },
      { deviceId: UUID, recordedAtMs: Date.UTC(2026, 10, 30, 9), metric: 'DCGM_FI_DEV_FB_USED', value: 61234 },
      {
        deviceId: UUID,
        recordedAtMs: Date.UTC(2026, 10, 30, 9, 0, 15),
        metric: 'DCGM_FI_DEV_POWER_USAGE',
        value: 612.5,
      },
      { deviceId: 'GPU-b', recordedAtMs: Date.UTC(2026, 10, 30, 9), metric: 'DCGM_FI_DEV_GPU_UTIL', value: 0 },
      { deviceId: UUID, recordedAtMs: Date.UTC(2026, 10, 30, 8, 59, 45), metric: 'DCGM_FI_DEV_GPU_UTIL', value: 42 },
    ]);
    expect(batches[0].newDevices).to.deep.equal([
      {
        id: UUID,
        index: 0,
        modelName: 'NVIDIA H100 80GB HBM3',
        hostname: 'node-1',
        firstSeenMs: Date.UTC(2026, 10, 30, 9),
      },
      {
        id: 'GPU-b',
        index: 1,
        modelName: 'NVIDIA A100-SXM4-80GB',
        hostname: 'node-2',
        firstSeenMs: Date.UTC(2026, 10, 30, 9),
      },
    ]);
    expect(reader.rows).to.equal(5);
    expect(reader.firstMs).to.equal(Date.UTC(2026, 10, 30, 8, 59, 45));
    expect(reader.lastMs).to.equal(Date.UTC(2026, 10, 30, 9, 0, 15));
  });

  it('hands samples over in batches, each device new in the batch that first names it', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => line({ uuid: `GPU-${i % 3}`, value: String(i) }));
    const { batches } = await read([HEADER, ...rows].join('\n') + '\n', {}, 3);
    expect(batches.map((b) => b.samples.map((s) => s.value))).to.deep.equal([[0, 1, 2], [3, 4, 5], [6]]);
    expect(batches.map((b) => b.newDevices.map((d) => d.id))).to.deep.equal([['GPU-0', 'GPU-1', 'GPU-2'], [], []]);
  });

  it('takes the header in any order, CRLF, a byte-order mark, quoted fields and chunks split anywhere', async () => {
    const columns = [...DCGM_CSV_COLUMNS].reverse();
    const quoted = '"gpu=""0"",UUID=""x"",note=""a\nb"""';
    const values: Record<string, string> = {
      timestamp: '1764493200000',
      metric_name: 'DCGM_FI_DEV_GPU_TEMP',
      gpu_id: '3',
      uuid: UUID,
      modelName: 'M',
      value: '7.5',
      labels_raw: quoted,
    };
    const body = `\ufeff${columns.join(',')}\r\n${columns.map((c) => values[c] ?? '').join(',')}\r\n`;
    // One byte per chunk: the reader must not care where chunks end (the BOM is three bytes).
    const byteChunks = async function* () {
      for (const b of Buffer.from(body)) yield Buffer.from([b]);
    };
    const reader = new DcgmCsvReader(byteChunks(), DEFAULT_TELEMETRY_LIMITS);
    const batches: DcgmBatch[] = [];
    for await (const batch of reader.batches()) batches.push(batch);
    expect(batches[0].samples).to.deep.equal([
      { deviceId: UUID, recordedAtMs: 1764493200000, metric: 'DCGM_FI_DEV_GPU_TEMP', value: 7.5 },
    ]);
    expect(batches[0].newDevices[0]).to.include({ index: 3, modelName: 'M' });
  });

  describe('names the row (the line it starts on; the header is row 1) and the column', () => {
    const cases: Array<[string, Cells, string, RegExp]> = [
      ['an empty value', { value: '' }, 'value', /is empty/],
      ['NaN', { value: 'NaN' }, 'value', /not a finite number/],
      ['+Inf', { value: '+Inf' }, 'value', /not a finite number/],
      ['a value past float64', { value: '1e999' }, 'value', /not a finite number/],
      ['hex', { value: '0x10' }, 'value', /not a finite number/],
      ['text', { value: 'busy' }, 'value', /not a finite number/],
      [
        'a percentage over 100',
        { value: '100.5' },
        'value',
        /DCGM_FI_DEV_GPU_UTIL is 100\.5 %; it must be from 0 to 100/,
      ],
      ['negative memory', { metric_name: 'DCGM_FI_DEV_FB_USED', value: '-1' }, 'value', /MiB; it must be at least 0/],
      ['negative power', { metric_name: 'DCGM_FI_DEV_POWER_USAGE', value: '-3' }, 'value', /W; it must be at least 0/],
      ['an empty timestamp', { timestamp: '' }, 'timestamp', /is empty/],
      ['a timestamp that is no time', { timestamp: 'yesterday' }, 'timestamp', /not an ISO-8601 time with a zone/],
      ['a day that does not exist', { timestamp: '2026-02-30T00:00:00Z' }, 'timestamp', /not an ISO-8601/],
      ['a time without a zone', { timestamp: '2026-11-30T09:00:00' }, 'timestamp', /not an ISO-8601/],
      ['epoch seconds', { timestamp: '1764493200' }, 'timestamp', /epoch seconds\? write epoch milliseconds/],
      ['an empty uuid', { uuid: '' }, 'uuid', /is empty; every sample needs its device's UUID/],
      ['a uuid with a space', { uuid: 'GPU 1' }, 'uuid', /is not a device UUID/],
      ['an empty metric name', { metric_name: '' }, 'metric_name', /is empty/],
      ['a metric name with a dash', { metric_name: 'gpu-util' }, 'metric_name', /is not a metric name/],
      ['a negative gpu_id', { gpu_id: '-1' }, 'gpu_id', /not a device index/],
      ['an empty gpu_id', { gpu_id: '' }, 'gpu_id', /not a device index/],
    ];
    for (const [what, cells, column, message] of cases) {
      it(`${what} → row 4, column "${column}"`, async () => {
        const err = await refusal([HEADER, line(), line(), line(cells), line()].join('\n'));
        expect(err).to.be.instanceOf(ValidationError);
        expect(err.field).to.equal(`row 4, column "${column}"`);
        expect(err.message)
          .to.match(/^row 4, column /)
          .and.match(message);
      });
    }

    it('counts blank lines and line breaks inside quotes', async () => {
      const multiLine = line({ labels_raw: '"a\nb\nc"' });
      const err = await refusal([HEADER, multiLine, '', line(), line({ value: 'x' })].join('\n'));
      // Header 1, the quoted row 2-4, blank 5, row 6, the bad row 7.
      expect(err.field).to.equal('row 7, column "value"');
    });

    it('a row with too few fields names the row', async () => {
      const err = await refusal([HEADER, line(), line().split(',').slice(1).join(',')].join('\n'));
      expect([err.field, err.message]).to.deep.equal(['row 3', 'row 3 has 11 fields; the header has 12']);
    });

    it('a quote never closed names the row', async () => {
      const err = await refusal([HEADER, line(), line({ labels_raw: '"open' })].join('\n'));
      expect(err.field).to.match(/^row 3$/);
    });
  });

  describe('the header', () => {
    it('an unknown column', async () => {
      const err = await refusal([HEADER.replace('gpu_id', 'gpu'), line()].join('\n'));
      expect(err.field).to.equal('header');
      expect(err.message).to.match(/header column 3 is "gpu", not a known column; expected the columns timestamp,/);
    });
    it('a missing column', async () => {
      const err = await refusal([HEADER.replace(',labels_raw', ''), line()].join('\n'));
      expect(err.field).to.equal('header');
      expect(err.message).to.match(/header lacks "labels_raw"/);
    });
    it('a column named twice', async () => {
      const err = await refusal([`${HEADER},uuid`, line()].join('\n'));
      expect(err.message).to.match(/header names "uuid" twice/);
    });
    it('an empty body and a header without rows name the body', async () => {
      expect((await refusal('')).field).to.equal('body');
      expect((await refusal('\n\n')).field).to.equal('body');
      const headerOnly = await refusal(`${HEADER}\n`);
      expect([headerOnly.field, headerOnly.message]).to.deep.equal(['body', 'the CSV has a header but no data rows']);
    });
  });

  describe('limits, checked while reading', () => {
    it('the first row past maxRows is a 413 naming it, read no further', async () => {
      let pulled = 0;
      const endless = async function* () {
        yield Buffer.from(`${HEADER}\n`);
        for (;;) {
          pulled += 1;
          yield Buffer.from(`${line()}\n`);
        }
      };
      const reader = new DcgmCsvReader(endless(), { ...DEFAULT_TELEMETRY_LIMITS, maxRows: 100 });
      let err: unknown;
      try {
        for await (const _batch of reader.batches()) throw new Error('no batch before the limit');
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(PayloadTooLargeError);
      expect((err as DomainError).field).to.equal('row 102');
      expect((err as DomainError).message).to.match(/more than the limit of 100 data rows/);
      // csv-parse reads a little ahead (its buffers), nothing like the whole stream.
      expect(pulled).to.be.below(1_000);
    });

    it('bytes past maxBodyBytes are a 413 naming the body', async () => {
      const err = await refusal([HEADER, line(), line(), line()].join('\n'), { maxBodyBytes: 300 });
      expect(err).to.be.instanceOf(PayloadTooLargeError);
      expect(err.field).to.equal('body');
    });

    it('a record over 64 KiB is refused, naming its row', async () => {
      const err = await refusal([HEADER, line(), line({ labels_raw: 'x'.repeat(70_000) })].join('\n'));
      expect(err).to.be.instanceOf(ValidationError);
      expect(err.field).to.equal('row 3');
    });
  });
});
