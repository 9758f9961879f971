import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { getDevice, recordSamples, resourceStatus, telemetryWindow, upsertDevice } from '../../db/gpus';
import { getTestStack, TestStack } from '../support/test-stack';
import { DeviceSample, startTelemetryRecorder } from '../../workers/telemetry-recorder';

describe('telemetry recorder', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
  });

  const declared = (id: string, index: number, used: number): DeviceSample => ({
    id,
    index,
    name: 'declared test GPU',
    gpuClass: 't4',
    memoryTotalMb: 16_384,
    source: 'declared',
    memoryUsedMb: used,
    utilizationPct: 42,
    temperatureC: 55,
    jobsRunning: 1,
    slotsUsed: 1,
    slotsFree: 1,
  });

  it('heartbeats a worker without devices with its slots, which the CPU pool status sums while it is online', async () => {
    const tag = randomUUID().slice(0, 8);
    const cpuOf = async () => (await resourceStatus(stack.pool)).pools.find((p) => p.name === 'cpu')!;
    const before = await cpuOf();
    const recorder = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `cpu-${tag}`,
      poolName: 'cpu',
      intervalMs: 50,
      queues: ['kiln-cpu'],
      log: () => undefined,
      workerStats: () => ({ slotsUsed: 1, slotsFree: 3, jobsRunning: 1 }),
      sample: async () => [],
    });
    try {
      await recorder.nextTick();
      const during = await cpuOf();
      expect(during.workers.online).to.equal(before.workers.online + 1);
      expect(during.slots).to.deep.equal({ used: before.slots.used + 1, free: before.slots.free + 3 });
      expect(during.jobsRunning).to.equal(before.jobsRunning + 1);
    } finally {
      await recorder.stop();
    }
    const after = await cpuOf();
    expect(after.slots).to.deep.equal(before.slots);
  });

  it('records one sample per device per tick and marks the devices offline on stop', async () => {
    const tag = randomUUID().slice(0, 8);
    const ids = [`GPU-rec-${tag}-0`, `GPU-rec-${tag}-1`];
    let calls = 0;
    const startedAt = new Date();
    const recorder = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `rec-${tag}`,
      poolName: 'gpu',
      intervalMs: 50,
      queues: ['kiln-gpu'],
      log: () => undefined,
      sample: async () => {
        calls += 1;
        return ids.map((id, i) => declared(id, i, 100 * calls));
      },
    });
    try {
      for (let i = 0; i < 3; i++) await recorder.nextTick();
      const online = await getDevice(stack.pool, ids[0]);
      expect(online).to.include({
        state: 'online',
        workerId: `rec-${tag}`,
        pool: 'gpu',
        source: 'declared',
        deviceIndex: 0,
      });
    } finally {
      await recorder.stop();
    }
    for (const id of ids) {
      const device = await getDevice(stack.pool, id);
      expect(device?.state).to.equal('offline');
      const { samples } = await telemetryWindow(stack.pool, id, startedAt, new Date());
      expect(samples.length).to.equal(calls);
      expect(samples.length).to.be.at.least(3);
      const times = samples.map((s) => s.recordedAt.getTime());
      expect(times).to.deep.equal([...times].sort((a, b) => a - b));
      expect(samples.map((s) => s.memoryUsedMb)).to.deep.equal(samples.map((_, i) => 100 * (i + 1)));
      // A worker without memory admission reports no budget: none stored, nothing reserved, nobody waiting.
      expect(device?.memoryBudgetMb).to.equal(null);
      for (const s of samples) expect(s).to.include({ memoryBudgetMb: null, memoryReservedMb: 0, jobsWaiting: 0 });
    }
    // Nothing is recorded after stop.
    const after = calls;
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).to.equal(after);
  });

  it('records the memory budget, the memory reserved and the jobs waiting', async () => {
    const tag = randomUUID().slice(0, 8);
    const id = `GPU-rec-${tag}`;
    const startedAt = new Date();
    const admitting = (reservedMb: number, waiting: number): DeviceSample => ({
      ...declared(id, 0, 6_000),
      memoryBudgetMb: 7_000,
      memoryReservedMb: reservedMb,
      jobsWaiting: waiting,
    });
    let calls = 0;
    const recorder = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `rec-${tag}`,
      poolName: 'gpu',
      intervalMs: 20,
      log: () => undefined,
      sample: async () => {
        calls += 1;
        return [calls === 1 ? admitting(6_144, 1) : admitting(1_024, 0)];
      },
    });
    try {
      await recorder.nextTick();
      await recorder.nextTick();
    } finally {
      await recorder.stop();
    }
    expect((await getDevice(stack.pool, id))?.memoryBudgetMb).to.equal(7_000);
    const { samples } = await telemetryWindow(stack.pool, id, startedAt, new Date());
    expect(samples.length).to.be.at.least(2);
    expect(samples[0]).to.include({ memoryBudgetMb: 7_000, memoryReservedMb: 6_144, jobsWaiting: 1 });
    expect(samples[1]).to.include({ memoryBudgetMb: 7_000, memoryReservedMb: 1_024, jobsWaiting: 0 });
    expect((await getDevice(stack.pool, id))?.latest).to.include({
      memoryBudgetMb: 7_000,
      memoryReservedMb: 1_024,
      jobsWaiting: 0,
    });

    // The next worker on the device declares no budget: the old one must not linger (routing would still use it).
    const next = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `rec-${tag}-next`,
      poolName: 'gpu',
      intervalMs: 20,
      log: () => undefined,
      sample: async () => [declared(id, 0, 1)],
    });
    try {
      await next.nextTick();
    } finally {
      await next.stop();
    }
    expect((await getDevice(stack.pool, id))?.memoryBudgetMb).to.equal(null);
  });

  it('keeps running when a tick fails, logging the error', async () => {
    const tag = randomUUID().slice(0, 8);
    const id = `GPU-rec-${tag}`;
    const logs: string[] = [];
    let calls = 0;
    const recorder = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `rec-${tag}`,
      poolName: 'gpu',
      intervalMs: 20,
      log: (m) => logs.push(m),
      sample: async () => {
        calls += 1;
        if (calls === 1) throw new Error('nvidia-smi went away');
        return [declared(id, 0, 1)];
      },
    });
    try {
      await recorder.nextTick();
      await recorder.nextTick();
    } finally {
      await recorder.stop();
    }
    expect(logs.some((m) => m.includes('nvidia-smi went away'))).to.equal(true);
    expect((await getDevice(stack.pool, id))?.state).to.equal('offline');
    const { samples } = await telemetryWindow(stack.pool, id, new Date(0), new Date());
    expect(samples.length).to.be.at.least(1);
  });

  it('prunes samples older than the retention', async () => {
    const tag = randomUUID().slice(0, 8);
    const id = `GPU-rec-${tag}`;
    await upsertDevice(stack.pool, {
      id,
      workerId: `rec-${tag}`,
      pool: 'gpu',
      host: 'h',
      deviceIndex: 0,
      name: 'old',
      memoryTotalMb: 1,
      source: 'declared',
    });
    const old = new Date(Date.now() - 2 * 3_600_000);
    await recordSamples(stack.pool, [
      { deviceId: id, recordedAt: old, memoryUsedMb: 0, memoryTotalMb: 1, utilizationPct: 0 },
    ]);
    const recorder = startTelemetryRecorder({
      pool: stack.pool,
      workerId: `rec-${tag}`,
      poolName: 'gpu',
      intervalMs: 20,
      retentionMs: 3_600_000,
      log: () => undefined,
      sample: async () => [declared(id, 0, 1)],
    });
    try {
      await recorder.nextTick();
    } finally {
      await recorder.stop();
    }
    const { samples } = await telemetryWindow(stack.pool, id, new Date(0), new Date());
    expect(samples.map((s) => s.recordedAt.getTime())).to.not.include(old.getTime());
    expect(samples.length).to.be.at.least(1);
  });
});
