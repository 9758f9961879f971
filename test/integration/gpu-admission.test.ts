import { expect } from 'chai';
import { Worker } from '@temporalio/worker';
import { DEFAULT_TENANT } from '../../common/tenant';
import { createDataset } from '../../db/datasets';
import { Table } from '../../datasets/table';
import { DeviceAdmission } from '../../gpu/admission';
import { gpuClassOf, gpuQueues } from '../../gpu/gpu-class';
import { Random } from '../../ml/random';
import { startTelemetryRecorder, TelemetryRecorder } from '../../workers/telemetry-recorder';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { createTestWorker } from '../support/with-worker';

/**
 * Admission by GPU memory on two declared devices (8 GB and 16 GB; this machine has no GPU, so the compute runs on the
 * CPU backend and the memory is the declared budget). Each device is one in-process "GPU worker": a DeviceAdmission
 * shared by Workers on its class queue and its class-and-budget queue, with the telemetry recorder the worker process
 * runs. What is measured is what each job's result records: when it was admitted and when it finished.
 */
const DEVICES = [
  { id: 'admission-8g', index: 0, name: 'NVIDIA GeForce RTX 4060', budgetMb: 8192 },
  { id: 'admission-16g', index: 1, name: 'NVIDIA GeForce RTX 4080', budgetMb: 16384 },
].map((d) => ({ ...d, gpuClass: gpuClassOf(d.name) }));

interface Admitted {
  memoryMb: number;
  waitedMs: number;
  admittedAt: string;
  finishedAt: string;
}

const interval = (a: Admitted) => ({ start: Date.parse(a.admittedAt), end: Date.parse(a.finishedAt) });

describe('GPU-tagged pools: admission by device memory', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const admissions = new Map<string, DeviceAdmission>();
  const workers: Worker[] = [];
  const runs: Array<Promise<void>> = [];
  const recorders: TelemetryRecorder[] = [];

  before(async function () {
    stack = await getTestStack();
    api = await startTestApi(stack);
    // Devices other suites reported are no concern here: routing must only see these two.
    await stack.pool.query(`UPDATE gpu_devices SET state = 'offline'`);
    // Uniform noise converges slowly, so every k-means job computes for a while (nInit runs of many iterations).
    const rng = new Random(7);
    const rows = 6_000;
    const d = 8;
    const values = new Float64Array(rows * d);
    for (let i = 0; i < values.length; i++) values[i] = rng.nextFloat();
    const table: Table = {
      rows,
      columns: Array.from({ length: d }, (_, i) => ({ name: `x${i}`, type: 'number' as const })),
      values,
    };
    ({ id: datasetId } = (
      await createDataset(stack.pool, {
        tenantId: DEFAULT_TENANT,
        name: 'admission-noise',
        sourceFormat: 'json',
        table,
      })
    ).dataset);

    // The CPU pool runs every job's workflow (and registration); only the compute activities reach the devices.
    const cpu = await createTestWorker(stack);
    workers.push(cpu);
    runs.push(cpu.run());
    for (const device of DEVICES) {
      const admission = new DeviceAdmission({ budgetMb: device.budgetMb, maxConcurrent: 8 });
      admissions.set(device.id, admission);
      // Not the shared kiln-gpu queue: other suites leave jobs there on purpose (an explicit GPU job waits).
      const queues = gpuQueues(device.gpuClass, device.budgetMb).slice(1);
      for (const taskQueue of queues) {
        const worker = await createTestWorker(stack, {
          workerPool: 'gpu',
          taskQueue,
          device: { id: device.id, name: device.name, gpuClass: device.gpuClass, source: 'declared' },
          admission,
        });
        workers.push(worker);
        runs.push(worker.run());
      }
      const recorder = startTelemetryRecorder({
        pool: stack.pool,
        workerId: `admission-test-${device.id}`,
        poolName: 'gpu',
        queues,
        intervalMs: 500,
        sample: async () => {
          const s = admission.stats();
          return [
            {
              id: device.id,
              index: device.index,
              name: device.name,
              gpuClass: device.gpuClass,
              memoryTotalMb: device.budgetMb,
              source: 'declared',
              memoryUsedMb: s.reservedMb,
              utilizationPct: 0,
              jobsRunning: s.running,
              slotsUsed: s.slotsUsed,
              slotsFree: s.slotsFree,
              memoryBudgetMb: s.budgetMb,
              memoryReservedMb: s.reservedMb,
              jobsWaiting: s.waiting,
            },
          ];
        },
      });
      recorders.push(recorder);
      await recorder.nextTick();
    }
  });

  after(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    await Promise.all(recorders.map((r) => r.stop()));
    await api?.close();
  });

  /** Starts a k-means job for a GPU (of `gpuClass`; null: any class) declaring `gpuMemoryMb`. */
  async function submit(gpuMemoryMb: number, gpuClass: string | null = DEVICES[0].gpuClass, nInit = 4) {
    const res = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      datasetId,
      params: { k: 24, nInit, maxIterations: 300, tolerance: 0, seed: gpuMemoryMb + nInit },
      resources: { accelerator: 'gpu', ...(gpuClass ? { gpuClass } : {}), gpuMemoryMb },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body as { jobId: string; taskQueue: string; computeQueue: string };
  }

  async function resultOf(jobId: string) {
    const res = await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${jobId}/result?wait=30`),
      (r) => r.status === 200,
      240_000,
    );
    const job = await request(api, 'GET', `/api/v1/jobs/${jobId}`);
    expect(job.body.status, JSON.stringify(job.body)).to.equal('COMPLETED');
    expect(res.status).to.equal(200);
    return job.body.result as { ranOn: { device: { id: string }; taskQueue: string; admission: Admitted } };
  }

  it('runs two 6 GB jobs on the 8 GB device one after the other, and four 1 GB jobs together', async () => {
    const big = await Promise.all([submit(6144), submit(6144)]);
    const [a, b] = (await Promise.all(big.map((j) => resultOf(j.jobId)))).map((r) => r.ranOn);
    for (const r of [a, b]) expect(r.device.id).to.equal('admission-8g');
    const [first, second] = [interval(a.admission), interval(b.admission)].sort((x, y) => x.start - y.start);
    expect(first.end, 'the second 6 GB job is admitted only after the first finished').to.be.at.most(second.start);
    expect(Math.max(a.admission.waitedMs, b.admission.waitedMs), 'one of them waited for memory').to.be.above(0);

    const small = await Promise.all([1, 2, 3, 4].map(() => submit(1024)));
    const intervals = (await Promise.all(small.map((j) => resultOf(j.jobId)))).map((r) => {
      expect(r.ranOn.device.id).to.equal('admission-8g');
      expect(r.ranOn.admission).to.include({ memoryMb: 1024, waitedMs: 0 });
      return interval(r.ranOn.admission);
    });
    const lastStart = Math.max(...intervals.map((i) => i.start));
    const firstEnd = Math.min(...intervals.map((i) => i.end));
    expect(lastStart, 'all four 1 GB jobs were admitted before any of them finished').to.be.below(firstEnd);
  });

  it('does not let later small jobs pass a large job waiting for memory (first come, first served)', async () => {
    const admission = admissions.get('admission-8g')!;
    const early = await Promise.all([1, 2, 3].map(() => submit(2048, DEVICES[0].gpuClass, 8)));
    await eventually(
      async () => admission.stats(),
      (s) => s.running === 3,
      60_000,
    );
    const large = await submit(6144, DEVICES[0].gpuClass, 2);
    // The large job is taken and waits: its status says so, and the device reports it waiting.
    const waiting = await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${large.jobId}`),
      (r) => r.body.progress?.stage === 'waiting-for-gpu-memory',
      60_000,
    );
    expect(waiting.body.progress).to.include({ memoryMb: 6144, budgetMb: 8192 });
    expect(admission.stats().waiting).to.equal(1);
    const status = await eventually(
      () => request(api, 'GET', '/api/v1/resources/status'),
      (r) => r.body.totals.jobsWaiting === 1,
      30_000,
    );
    expect(status.body.pools.find((p: { name: string }) => p.name === 'gpu').memory).to.include({ reservedMb: 6144 });
    // 2 GB would fit right now (6 GB reserved of 8): without the rule these would start before the large job.
    const later = await Promise.all([1, 2].map(() => submit(2048, DEVICES[0].gpuClass, 1)));

    const largeRun = (await resultOf(large.jobId)).ranOn.admission;
    const earlyRuns = (await Promise.all(early.map((j) => resultOf(j.jobId)))).map((r) => r.ranOn.admission);
    const laterRuns = (await Promise.all(later.map((j) => resultOf(j.jobId)))).map((r) => r.ranOn.admission);
    expect(largeRun.waitedMs).to.be.above(0);
    for (const run of laterRuns) {
      expect(
        Date.parse(run.admittedAt),
        'a later small job is admitted only after the waiting large one',
      ).to.be.at.least(Date.parse(largeRun.admittedAt));
    }
    // The large job waited only for jobs that were running when it arrived: two of the three had to finish (6 GB).
    const ends = earlyRuns.map((r) => Date.parse(r.finishedAt)).sort((x, y) => x - y);
    expect(Date.parse(largeRun.admittedAt)).to.be.at.least(ends[1]);
  });

  it('sends a job too large for the 8 GB device to the 16 GB one, and refuses one larger than both', async () => {
    const job = await submit(12_288, null);
    expect(job.computeQueue).to.equal(`kiln-gpu-${DEVICES[1].gpuClass}-16384mb`);
    const result = await resultOf(job.jobId);
    expect(result.ranOn.device.id).to.equal('admission-16g');
    expect(result.ranOn.admission.memoryMb).to.equal(12_288);

    const small = await submit(1024, null);
    expect(small.computeQueue, 'a job every device can hold goes to the shared queue').to.equal('kiln-gpu');
    // Nobody here polls kiln-gpu: the job's compute is queued there, and the status says so.
    const queued = await eventually(
      () => request(api, 'GET', '/api/v1/resources/status'),
      (r) =>
        (r.body.pools.find((p: { name: string }) => p.name === 'gpu')?.queueBacklog?.['kiln-gpu']?.activityTasks ??
          0) >= 1,
      30_000,
    );
    expect(queued.body.totals.jobsQueued).to.be.at.least(1);
    await stack.env.client.workflow.getHandle(small.jobId).terminate('test cleanup: no worker polls kiln-gpu here');

    const tooBig = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      datasetId,
      params: { k: 2 },
      resources: { accelerator: 'gpu', gpuMemoryMb: 20_000 },
    });
    expect(tooBig.status).to.equal(422);
    expect(tooBig.body.error).to.include({ code: 'exceeds_gpu_memory', field: 'resources.gpuMemoryMb' });
    expect(tooBig.body.error.message).to.contain('16384 MiB');
  });

  it('admits training and batch prediction by their memory estimates, and refuses a training job no device can hold', async () => {
    const blobs = makeBlobs(
      40,
      [
        [0, 0],
        [6, 6],
      ],
      0.7,
      5,
    );
    const rows = blobs.points.map(([x, y], i) => ({ x, y, side: blobs.labels[i] === 0 ? 'left' : 'right' }));
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'admission-sides', data: rows });
    expect(upload.status).to.be.oneOf([200, 201]);
    const body = (resources: Record<string, unknown>) => ({
      datasetId: upload.body.id,
      target: 'side',
      model: { name: 'admission-mlp' },
      spec: { task: 'classification', layers: [{ units: 8, activation: 'relu' }] },
      training: { epochs: 3, batchSize: 16, learningRate: 0.05, seed: 3 },
      resources,
    });
    const tooBig = await request(api, 'POST', '/api/v1/training', body({ accelerator: 'gpu', gpuMemoryMb: 20_000 }));
    expect(tooBig.status).to.equal(422);
    expect(tooBig.body.error).to.include({ code: 'exceeds_gpu_memory', field: 'resources.gpuMemoryMb' });
    expect(tooBig.body.error.message).to.contain('16384 MiB');

    const started = await request(
      api,
      'POST',
      '/api/v1/training',
      body({ accelerator: 'gpu', gpuClass: DEVICES[0].gpuClass }),
    );
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const trained = await resultOf(started.body.jobId);
    const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
    // The estimate (MLP formula on this table) is what the job recorded and what the device reserved.
    expect(job.body.memo.resources).to.include({ gpuMemoryEstimated: true });
    expect(trained.ranOn.admission.memoryMb).to.equal(job.body.memo.resources.gpuMemoryMb);
    expect(trained.ranOn.device.id).to.equal('admission-8g');

    const predicted = await request(api, 'POST', '/api/v1/models/admission-mlp/batch-predict', {
      datasetId: upload.body.id,
      version: 1,
      resources: { accelerator: 'gpu', gpuClass: DEVICES[1].gpuClass },
    });
    expect(predicted.status, JSON.stringify(predicted.body)).to.equal(202);
    const batch = await resultOf(predicted.body.jobId);
    expect(batch.ranOn.device.id).to.equal('admission-16g');
    expect(batch.ranOn.admission.memoryMb).to.be.a('number').and.to.be.above(0);
    for (const admission of admissions.values())
      expect(admission.stats()).to.include({ reservedMb: 0, running: 0, waiting: 0 });
  });
});
