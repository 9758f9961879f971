import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import {
  getDevice,
  markOffline,
  onlineGpus,
  pruneTelemetry,
  recordSamples,
  telemetryWindow,
  upsertDevice,
  upsertWorkerHeartbeat,
} from '../../db/gpus';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.message).to.be.a('string').and.not.equal('');
  if (field !== undefined) expect(res.body.error.field).to.equal(field);
}

describe('GPU devices, telemetry and resource status', function () {
  let stack: TestStack;
  let api: TestApi;
  // Unique per run: the test database is shared by every suite.
  const tag = randomUUID().slice(0, 8);
  const workerA = `worker-a-${tag}`;
  const workerB = `worker-b-${tag}`;
  const gpu0 = `GPU-${tag}-0000`;
  const gpu1 = `GPU-${tag}-0001`;
  const gpuOff = `GPU-${tag}-off`;
  const base = Date.parse('2030-01-01T00:00:00.000Z');
  const at = (minutes: number) => new Date(base + minutes * 60_000);

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    await upsertWorkerHeartbeat(stack.pool, {
      workerId: workerA,
      pool: 'gpu',
      host: 'host-a',
      queues: ['kiln-gpu', `kiln-gpu-a100-${tag}`],
    });
    await upsertWorkerHeartbeat(stack.pool, { workerId: workerB, pool: 'gpu', host: 'host-b', queues: ['kiln-gpu'] });
    // gpu1's worker admits by memory with a 7000 MiB budget; the others declare none.
    for (const [id, index, worker, budget] of [
      [gpu0, 0, workerA, undefined],
      [gpu1, 1, workerA, 7_000],
      [gpuOff, 0, workerB, 7_000],
    ] as const) {
      await upsertDevice(stack.pool, {
        id,
        workerId: worker,
        pool: 'gpu',
        host: worker === workerA ? 'host-a' : 'host-b',
        deviceIndex: index,
        name: 'NVIDIA A100-SXM4-80GB',
        gpuClass: 'a100',
        memoryTotalMb: 81_920,
        memoryBudgetMb: budget,
        source: 'declared',
      });
    }
    // gpu0: samples at minutes 0..10 (inserted out of order), no admission fields; gpu1: one sample, one job waiting
    // for memory; gpuOff: one sample with jobs waiting, then offline (so they must not count).
    const minutes = [5, 0, 10, 3, 1, 2, 4, 6, 7, 8, 9];
    await recordSamples(
      stack.pool,
      minutes.map((m) => ({
        deviceId: gpu0,
        recordedAt: at(m),
        memoryUsedMb: 1000 + m,
        memoryTotalMb: 81_920,
        utilizationPct: m * 5,
        temperatureC: 40 + m,
        jobsRunning: 1,
        slotsUsed: 1,
        slotsFree: 3,
      })),
    );
    await recordSamples(stack.pool, [
      {
        deviceId: gpu1,
        recordedAt: at(10),
        memoryUsedMb: 2048,
        memoryTotalMb: 81_920,
        utilizationPct: 75,
        temperatureC: null,
        jobsRunning: 2,
        slotsUsed: 2,
        slotsFree: 2,
        memoryBudgetMb: 7_000,
        memoryReservedMb: 6_144,
        jobsWaiting: 1,
      },
    ]);
    await recordSamples(stack.pool, [
      {
        deviceId: gpuOff,
        recordedAt: at(10),
        memoryUsedMb: 512,
        memoryTotalMb: 81_920,
        utilizationPct: 10,
        jobsRunning: 7,
        slotsUsed: 7,
        slotsFree: 9,
        memoryBudgetMb: 7_000,
        memoryReservedMb: 4_096,
        jobsWaiting: 3,
      },
    ]);
    expect(await markOffline(stack.pool, workerB)).to.equal(1);
  });
  after(async () => {
    await api?.close();
    // Devices left online would make later suites' `any` jobs wait for a GPU worker that is not there.
    await stack?.pool.query(`UPDATE gpu_devices SET state = 'offline'`);
  });

  const telemetry = (id: string, query = '') =>
    request(api, 'GET', `/api/v1/gpus/${encodeURIComponent(id)}/telemetry${query}`);

  it('GET /api/v1/gpus lists devices with pool, worker, state and latest sample', async () => {
    const res = await request(api, 'GET', '/api/v1/gpus');
    expect(res.status).to.equal(200);
    const mine = res.body.gpus.filter((g: any) => g.id.includes(tag));
    expect(mine.map((g: any) => g.id)).to.have.members([gpu0, gpu1, gpuOff]);
    const g0 = mine.find((g: any) => g.id === gpu0);
    expect(g0).to.include({
      pool: 'gpu',
      workerId: workerA,
      host: 'host-a',
      index: 0,
      state: 'online',
      source: 'declared',
      gpuClass: 'a100',
      memoryTotalMb: 81_920,
    });
    expect(g0.latest).to.include({
      recordedAt: at(10).toISOString(),
      memoryUsedMb: 1010,
      utilizationPct: 50,
      temperatureC: 50,
    });
    expect(g0.memoryBudgetMb).to.equal(null);
    expect(g0.latest).to.include({ memoryBudgetMb: null, memoryReservedMb: 0, jobsWaiting: 0 });
    expect(mine.find((g: any) => g.id === gpuOff).state).to.equal('offline');
    const g1 = mine.find((g: any) => g.id === gpu1);
    expect(g1.latest.temperatureC).to.equal(null);
    expect(g1.memoryBudgetMb).to.equal(7_000);
    expect(g1.latest).to.include({ memoryBudgetMb: 7_000, memoryReservedMb: 6_144, jobsWaiting: 1 });
  });

  it('telemetry window includes both ends and is time-ordered', async () => {
    const res = await telemetry(gpu0, `?start_time=${at(2).toISOString()}&end_time=${at(6).getTime()}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.samples.map((s: any) => s.recordedAt)).to.deep.equal(
      [2, 3, 4, 5, 6].map((m) => at(m).toISOString()),
    );
    expect(res.body.samples.map((s: any) => s.memoryUsedMb)).to.deep.equal([1002, 1003, 1004, 1005, 1006]);
    expect(res.body).to.include({
      deviceId: gpu0,
      startTime: at(2).toISOString(),
      endTime: at(6).toISOString(),
      truncated: false,
    });
  });

  it('telemetry samples carry the memory budget, the memory reserved and the jobs waiting', async () => {
    const res = await telemetry(gpu1, `?start_time=${at(0).toISOString()}&end_time=${at(10).toISOString()}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.samples).to.have.length(1);
    expect(res.body.samples[0]).to.include({
      recordedAt: at(10).toISOString(),
      memoryBudgetMb: 7_000,
      memoryReservedMb: 6_144,
      jobsWaiting: 1,
    });
    const { samples } = await telemetryWindow(stack.pool, gpu1, at(0), at(10));
    expect(
      samples.map(({ memoryBudgetMb, memoryReservedMb, jobsWaiting }) => ({
        memoryBudgetMb,
        memoryReservedMb,
        jobsWaiting,
      })),
    ).to.deep.equal([{ memoryBudgetMb: 7_000, memoryReservedMb: 6_144, jobsWaiting: 1 }]);
  });

  it('a window of one instant returns the sample at that instant', async () => {
    const res = await telemetry(gpu0, `?start_time=${at(7).getTime()}&end_time=${at(7).getTime()}`);
    expect(res.status).to.equal(200);
    expect(res.body.samples).to.have.length(1);
    expect(res.body.samples[0].recordedAt).to.equal(at(7).toISOString());
  });

  it('the default window is the last hour', async () => {
    const res = await telemetry(gpu0);
    expect(res.status).to.equal(200);
    expect(Date.parse(res.body.endTime) - Date.parse(res.body.startTime)).to.equal(3_600_000);
    expect(res.body.samples).to.deep.equal([]); // the samples lie in 2030
  });

  it('telemetryWindow bounds the rows it returns and says so', async () => {
    const { samples, truncated } = await telemetryWindow(stack.pool, gpu0, at(0), at(10), 4);
    expect(truncated).to.equal(true);
    expect(samples.map((s) => s.recordedAt.toISOString())).to.deep.equal([0, 1, 2, 3].map((m) => at(m).toISOString()));
  });

  describe('bad input gets a 4xx naming the field', () => {
    it('unknown device', async () => expectError(await telemetry(`GPU-${tag}-nope`), 404, 'id'));
    it('a device id that cannot be one', async () => expectError(await telemetry('bad id!'), 404, 'id'));
    it('start_time not a time', async () =>
      expectError(await telemetry(gpu0, '?start_time=yesterday'), 400, 'query.start_time'));
    it('end_time not a time', async () =>
      expectError(await telemetry(gpu0, '?end_time=2030-13-45T99:00:00Z'), 400, 'query.end_time'));
    it('a time without a zone', async () =>
      expectError(await telemetry(gpu0, '?end_time=2030-01-01T00:00:00'), 400, 'query.end_time'));
    it('empty start_time', async () => expectError(await telemetry(gpu0, '?start_time='), 400, 'query.start_time'));
    it('start_time given twice', async () =>
      expectError(await telemetry(gpu0, '?start_time=1&start_time=2'), 400, 'query.start_time'));
    it('start after end', async () =>
      expectError(
        await telemetry(gpu0, `?start_time=${at(5).toISOString()}&end_time=${at(4).toISOString()}`),
        400,
        'query.start_time',
      ));
    it('a window over 7 days', async () =>
      expectError(
        await telemetry(gpu0, `?start_time=${at(0).toISOString()}&end_time=${at(8 * 24 * 60).toISOString()}`),
        400,
        'query.end_time',
      ));
    it('a start over 7 days ago with the default end', async () =>
      expectError(await telemetry(gpu0, `?start_time=${Date.now() - 8 * 86_400_000}`), 400, 'query.start_time'));
  });

  it('GET /api/gpu/status keeps the seed shape', async () => {
    const res = await request(api, 'GET', '/api/gpu/status');
    expect(res.status).to.equal(200);
    expect(res.body).to.have.all.keys('gpus', 'available');
    expect(res.body.available).to.equal(true);
    for (const g of res.body.gpus) {
      expect(g).to.have.all.keys(
        'id',
        'name',
        'memoryUsedMb',
        'memoryTotalMb',
        'utilizationPct',
        'state',
        'memoryBudgetMb',
        'memoryReservedMb',
        'jobsWaiting',
      );
    }
    expect(res.body.gpus.find((g: any) => g.id === gpu1)).to.deep.equal({
      id: gpu1,
      name: 'NVIDIA A100-SXM4-80GB',
      memoryUsedMb: 2048,
      memoryTotalMb: 81_920,
      utilizationPct: 75,
      state: 'online',
      memoryBudgetMb: 7_000,
      memoryReservedMb: 6_144,
      jobsWaiting: 1,
    });
    expect(res.body.gpus.find((g: any) => g.id === gpu0)).to.include({
      memoryBudgetMb: null,
      memoryReservedMb: 0,
      jobsWaiting: 0,
    });
    expect(res.body.gpus.find((g: any) => g.id === gpuOff).state).to.equal('offline');
  });

  it('GET /api/v1/resources/status sums the latest samples of online devices per pool', async () => {
    const res = await request(api, 'GET', '/api/v1/resources/status');
    expect(res.status).to.equal(200);
    const names = res.body.pools.map((p: any) => p.name);
    expect(names).to.include.members(['cpu', 'gpu']);
    const cpu = res.body.pools.find((p: any) => p.name === 'cpu');
    expect(cpu.queues).to.include('kiln-cpu');
    const gpu = res.body.pools.find((p: any) => p.name === 'gpu');
    expect(gpu.queues).to.include.members(['kiln-gpu', `kiln-gpu-a100-${tag}`]);
    expect(gpu.devices.map((d: any) => d.id)).to.include.members([gpu0, gpu1, gpuOff]);
    // Other suites may add devices: compare against what this suite contributed via a second snapshot below.
    const onlineMine = gpu.devices.filter((d: any) => d.id.includes(tag) && d.state === 'online');
    expect(onlineMine).to.have.length(2);
    expect(gpu.workers.total).to.be.at.least(2);
    expect(gpu.workers.online).to.be.at.least(1);
    // gpu0 latest: 1 used / 3 free / 1 job; gpu1: 2 / 2 / 2; gpuOff is offline and does not count. Other suites may
    // have devices too, so the expected sums come from the device listing (nothing writes telemetry meanwhile).
    const listing = (await request(api, 'GET', '/api/v1/gpus')).body.gpus.filter(
      (g: any) => g.pool === 'gpu' && g.state === 'online',
    );
    const sum = (f: (g: any) => number) => listing.reduce((acc: number, g: any) => acc + f(g), 0);
    expect(listing.filter((g: any) => g.id.includes(tag)).map((g: any) => g.latest.slotsUsed)).to.have.members([1, 2]);
    expect(gpu.slots).to.deep.equal({
      used: sum((g) => g.latest?.slotsUsed ?? 0),
      free: sum((g) => g.latest?.slotsFree ?? 0),
    });
    expect(gpu.slots.used).to.be.at.least(3);
    expect(gpu.slots.free).to.be.at.least(5);
    expect(gpu.jobsRunning)
      .to.equal(sum((g) => g.latest?.jobsRunning ?? 0))
      .and.be.at.least(3);
    expect(gpu.memory.totalMb).to.equal(sum((g) => g.memoryTotalMb));
    // gpu1: 1 job waiting, 6144 MiB reserved of a 7000 MiB budget; gpu0 declares no budget, so its total counts.
    expect(gpu.jobsWaiting)
      .to.equal(sum((g) => g.latest?.jobsWaiting ?? 0))
      .and.be.at.least(1);
    expect(gpu.memory.reservedMb)
      .to.equal(sum((g) => g.latest?.memoryReservedMb ?? 0))
      .and.be.at.least(6_144);
    expect(gpu.memory.budgetMb).to.equal(sum((g) => g.memoryBudgetMb ?? g.memoryTotalMb));
    expect(gpu.memory.totalMb - gpu.memory.budgetMb).to.equal(
      sum((g) => g.memoryTotalMb - (g.memoryBudgetMb ?? g.memoryTotalMb)),
    );
    expect(listing.find((g: any) => g.id === gpu1)).to.include({ memoryBudgetMb: 7_000 });
    expect(gpu.devicesOnline).to.equal(listing.length);
    expect(res.body.totals.slotsUsed).to.be.at.least(3);
    expect(res.body.totals.jobsWaiting)
      .to.equal(res.body.pools.reduce((acc: number, p: any) => acc + p.jobsWaiting, 0))
      .and.be.at.least(1);
  });

  it("onlineGpus gives each device's budget (over its total memory), smallest first", async () => {
    // Own ids and class: the other tests count this suite's devices by tag.
    const own = randomUUID().slice(0, 8);
    const gpuClass = `budget-${own}`;
    const budgets = async () => (await onlineGpus(stack.pool, gpuClass, 60)).map((d) => d.budgetMb);
    const device = (id: string, memoryTotalMb: number, memoryBudgetMb?: number) =>
      upsertDevice(stack.pool, {
        id,
        workerId: `worker-budget-${own}`,
        pool: 'gpu',
        host: 'host-c',
        deviceIndex: 0,
        name: 'test GPU',
        gpuClass,
        memoryTotalMb,
        memoryBudgetMb,
        source: 'declared',
      });
    try {
      await device(`GPU-big-${own}`, 81_920, 7_000);
      expect(await budgets()).to.deep.equal([7_000]);
      // A device without a budget offers its whole memory: 8192 MiB beats the 80 GiB device's 7000 MiB budget.
      await device(`GPU-small-${own}`, 8_192);
      expect(await budgets()).to.deep.equal([7_000, 8_192]);
      // Declaring a budget later replaces the total.
      await device(`GPU-small-${own}`, 8_192, 4_096);
      expect(await budgets()).to.deep.equal([4_096, 7_000]);
    } finally {
      await markOffline(stack.pool, `worker-budget-${own}`);
    }
    expect(await budgets()).to.deep.equal([]);
  });

  it('the OpenAPI document lists the GPU paths', async () => {
    const doc = await request(api, 'GET', '/api/v1/openapi.json');
    expect(doc.status).to.equal(200);
    expect(doc.body.paths).to.include.keys(
      '/api/v1/gpus',
      '/api/v1/gpus/{id}/telemetry',
      '/api/v1/resources/status',
      '/api/gpu/status',
    );
    // Every job start says where its workflow and its compute go, and may refuse a job no device can hold.
    for (const path of ['/api/v1/clustering', '/api/v1/training', '/api/v1/models/{name}/batch-predict']) {
      const responses = doc.body.paths[path].post.responses;
      expect(responses['202'].content['application/json'].schema.properties, path).to.include.keys(
        'taskQueue',
        'computeQueue',
      );
      expect(responses, path).to.have.property('422');
    }
  });

  it('pruning deletes samples older than the bound and keeps the rest', async () => {
    const removed = await pruneTelemetry(stack.pool, at(5));
    expect(removed).to.be.at.least(5); // gpu0's minutes 0..4
    const { samples } = await telemetryWindow(stack.pool, gpu0, at(0), at(10));
    expect(samples.map((s) => s.recordedAt.toISOString())).to.deep.equal(
      [5, 6, 7, 8, 9, 10].map((m) => at(m).toISOString()),
    );
    expect(await getDevice(stack.pool, gpu0)).to.not.equal(undefined);
  });
});
