import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { upsertDevice } from '../../db/gpus';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { createTestWorker, withWorker } from '../support/with-worker';

/** A declared inventory: two devices of different classes on a machine without a GPU (routing, not compute). */
const DECLARED = JSON.stringify([
  { name: 'NVIDIA H100 80GB HBM3', memoryTotalMb: 8192 },
  { name: 'NVIDIA A100-SXM4-40GB', memoryTotalMb: 16384 },
]);

describe('GPU-tagged pools: routing by accelerator and class', function () {
  let stack: TestStack;
  let api: TestApi;
  const points = makeBlobs(
    20,
    [
      [0, 0],
      [5, 5],
    ],
    0.5,
    3,
  ).points;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => api?.close());

  const cluster = (resources: Record<string, unknown>, on: TestApi = api) =>
    request(on, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: points, resources });

  it('a job for a GPU class runs on a worker of that class, and the result says which pool, queue and device', async () => {
    const worker = await createTestWorker(stack, {
      workerPool: 'gpu',
      taskQueue: 'kiln-gpu-h100',
      device: { id: 'declared-0', name: 'NVIDIA H100 80GB HBM3', gpuClass: 'h100', source: 'declared' },
    });
    // The CPU pool runs every workflow; only the compute activity goes to the GPU queue.
    await withWorker(stack, () =>
      worker.runUntil(async () => {
        const started = await cluster({ accelerator: 'gpu', gpuClass: 'h100' });
        expect(started.body).to.include({ taskQueue: 'kiln-cpu', computeQueue: 'kiln-gpu-h100' });
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        expect(result.status, JSON.stringify(result.body)).to.equal(200);
        const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
        expect(job.body.result.ranOn).to.deep.equal({
          pool: 'gpu',
          taskQueue: 'kiln-gpu-h100',
          device: { id: 'declared-0', name: 'NVIDIA H100 80GB HBM3', gpuClass: 'h100', source: 'declared' },
        });
      }),
    );
  });

  it('cpu and any run on the CPU pool; an explicit GPU never falls back to it, it waits, says so, and can be cancelled', async () => {
    await withWorker(stack, async () => {
      for (const accelerator of ['cpu', 'any']) {
        const started = await cluster({ accelerator });
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        expect(result.status).to.equal(200);
        const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
        expect(job.body.result.ranOn).to.deep.equal({ pool: 'cpu', taskQueue: 'kiln-cpu' });
      }
      const waiting = await cluster({ accelerator: 'gpu', gpuClass: 'b200' });
      expect(waiting.body).to.include({ taskQueue: 'kiln-cpu', computeQueue: 'kiln-gpu-b200' });
      // The CPU pool takes the workflow at once; its compute activity then waits on the class queue nobody polls.
      const job = await eventually(
        () => request(api, 'GET', `/api/v1/jobs/${waiting.body.jobId}`),
        (r) => r.body.progress?.activity === 'runClustering',
        30_000,
      );
      expect(job.body).to.include({ status: 'RUNNING', taskQueue: 'kiln-cpu' });
      expect(job.body.memo.resources).to.include({ accelerator: 'gpu', computeQueue: 'kiln-gpu-b200' });
      expect(job.body.progress).to.include({ stage: 'queued', state: 'waiting-for-gpu' });
      expect(job.body.progress.waitingFor).to.deep.equal({ accelerator: 'gpu', gpuClass: 'b200' });
      await new Promise((r) => setTimeout(r, 1500));
      const still = await request(api, 'GET', `/api/v1/jobs/${waiting.body.jobId}`);
      expect(still.body.progress, 'no fallback to the CPU pool').to.include({ state: 'waiting-for-gpu' });
      // A job waiting for a GPU that never comes can be cancelled: the CPU pool runs its workflow.
      expect((await request(api, 'POST', `/api/v1/jobs/${waiting.body.jobId}/cancel`)).status).to.equal(202);
      const cancelled = await eventually(
        () => request(api, 'GET', `/api/v1/jobs/${waiting.body.jobId}`),
        (r) => r.body.status !== 'RUNNING',
        30_000,
      );
      expect(cancelled.body.status).to.equal('CANCELED');
    });
  });

  it('any: GPU first when a GPU worker is online, the CPU pool after the bound when none takes it', async function () {
    this.timeout(120_000);
    // An API whose `any` jobs wait only 2 s for a GPU worker (KILN_GPU_FALLBACK_SECONDS=2).
    const quick = await startTestApi(stack, {}, {}, { gpuFallbackSeconds: 2 });
    const device = (id: string, gpuClass: string) =>
      upsertDevice(stack.pool, {
        id,
        workerId: `test-${id}`,
        pool: 'gpu',
        host: 'test',
        deviceIndex: 0,
        name: gpuClass,
        gpuClass,
        memoryTotalMb: 8192,
        source: 'declared',
      });
    try {
      await device('routing-h100', 'h100');
      await device('routing-zz', 'zz');
      const gpu = await createTestWorker(stack, {
        workerPool: 'gpu',
        taskQueue: 'kiln-gpu-h100',
        device: { id: 'routing-h100', name: 'h100', gpuClass: 'h100', source: 'declared' },
      });
      await withWorker(stack, () =>
        gpu.runUntil(async () => {
          const onGpu = await cluster({ accelerator: 'any', gpuClass: 'h100' }, quick);
          const a = await request(api, 'GET', `/api/v1/jobs/${onGpu.body.jobId}`).then(async () =>
            eventually(
              () => request(api, 'GET', `/api/v1/jobs/${onGpu.body.jobId}`),
              (r) => r.body.status !== 'RUNNING',
              60_000,
            ),
          );
          expect(a.body.result.ranOn).to.include({ pool: 'gpu', taskQueue: 'kiln-gpu-h100' });
          expect(a.body.result).to.not.have.property('fellBackToCpu');
          // A class whose device is online but whose queue nobody polls: after the 2 s bound the CPU pool runs it.
          const fallback = await cluster({ accelerator: 'any', gpuClass: 'zz' }, quick);
          const b = await eventually(
            () => request(api, 'GET', `/api/v1/jobs/${fallback.body.jobId}`),
            (r) => r.body.status !== 'RUNNING',
            60_000,
          );
          expect(b.body.status).to.equal('COMPLETED');
          expect(b.body.result.ranOn).to.include({ pool: 'cpu', taskQueue: 'kiln-cpu' });
          expect(b.body.result.fellBackToCpu).to.equal(true);
        }),
      );
    } finally {
      await quick.close();
      await stack.pool.query(`UPDATE gpu_devices SET state = 'offline' WHERE id IN ('routing-h100', 'routing-zz')`);
    }
  });

  it('refuses a GPU job larger than every online device, naming the largest budget; records the memory estimate', async () => {
    await upsertDevice(stack.pool, {
      id: 'budget-8g',
      workerId: 'test-budget',
      pool: 'gpu',
      host: 'test',
      deviceIndex: 0,
      name: 'small',
      gpuClass: 'small',
      memoryTotalMb: 8192,
      source: 'declared',
    });
    try {
      const tooBig = await cluster({ accelerator: 'gpu', gpuClass: 'small', gpuMemoryMb: 9000 });
      expect(tooBig.status).to.equal(422);
      expect(tooBig.body.error).to.include({ code: 'exceeds_gpu_memory', field: 'resources.gpuMemoryMb' });
      expect(tooBig.body.error.message).to.contain('8192 MiB');
      const fits = await cluster({ accelerator: 'gpu', gpuClass: 'small' });
      expect(fits.status).to.equal(202);
      const job = await request(api, 'GET', `/api/v1/jobs/${fits.body.jobId}`);
      expect(job.body.memo.resources.gpuMemoryEstimated).to.equal(true);
      expect(job.body.memo.resources.gpuMemoryMb).to.be.a('number').and.to.be.within(1, 8192);
      await stack.env.client.workflow.getHandle(fits.body.jobId).terminate('test cleanup');
    } finally {
      await stack.pool.query(`UPDATE gpu_devices SET state = 'offline' WHERE id = 'budget-8g'`);
    }
  });

  it('a GPU worker process pinned to a declared device serves its class and records telemetry', async function () {
    this.timeout(180_000);
    let worker: ChildProcess | undefined;
    const metricsPort = await freePort();
    try {
      // The CPU pool (here in-process) orchestrates; the spawned GPU worker process takes the compute.
      await withWorker(stack, async () => {
        worker = spawn(
          process.execPath,
          [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'gpu', '--device', '1'],
          {
            env: {
              ...process.env,
              DATABASE_URL: stack.databaseUrl,
              TEMPORAL_ADDRESS: stack.env.address,
              KILN_DECLARED_GPUS: DECLARED,
              KILN_TELEMETRY_INTERVAL_MS: '300',
              KILN_WORKER_METRICS_PORT: String(metricsPort),
            },
            stdio: 'ignore',
          },
        );
        const started = await cluster({ accelerator: 'gpu', gpuClass: 'a100' });
        const result = await eventually(
          () => request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=20`),
          (r) => r.status === 200,
          120_000,
        );
        expect(result.status).to.equal(200);
        const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
        expect(job.body.result.ranOn).to.deep.include({ pool: 'gpu', taskQueue: 'kiln-gpu-a100' });
        expect(job.body.result.ranOn.device).to.include({ id: 'declared-1', gpuClass: 'a100', source: 'declared' });
        const gpus = await eventually(
          () => request(api, 'GET', '/api/v1/gpus'),
          (r) => r.body.gpus.some((g: { id: string; latest?: unknown }) => g.id === 'declared-1' && g.latest),
          30_000,
        );
        const device = gpus.body.gpus.find((g: { id: string }) => g.id === 'declared-1');
        expect(device).to.include({ state: 'online', pool: 'gpu', memoryTotalMb: 16384, source: 'declared' });
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).to.match(/kiln_gpu_memory_total_mb\{pool="gpu",device="declared-1",gpu_class="a100"\} 16384/);
        expect(metrics).to.match(/kiln_worker_activities_in_flight\{pool="gpu"\} 0/);
        // Admission: the declared device's budget, nothing reserved after the job, every slot free again (8 by default),
        // one admission without a wait and one completed compute activity.
        expect(metrics).to.match(/kiln_gpu_memory_budget_mb\{pool="gpu",device="declared-1"\} 16384/);
        expect(metrics).to.match(/kiln_gpu_memory_reserved_mb\{pool="gpu",device="declared-1"\} 0/);
        expect(metrics).to.match(/kiln_worker_slots_free\{pool="gpu"\} 8/);
        expect(metrics).to.match(/kiln_gpu_admission_wait_seconds_count\{pool="gpu",device="declared-1"\} 1/);
        expect(metrics).to.match(
          /kiln_worker_activity_duration_seconds_count\{pool="gpu",activity="runClustering",outcome="completed"\} 1/,
        );
        expect(job.body.result.ranOn.admission).to.include({
          memoryMb: job.body.memo.resources.gpuMemoryMb,
          waitedMs: 0,
        });
        expect(metrics).to.contain('process_cpu_user_seconds_total');
        worker.kill('SIGTERM');
        await new Promise<void>((resolve) => worker!.once('exit', () => resolve()));
        const after = await request(api, 'GET', '/api/v1/gpus');
        expect(after.body.gpus.find((g: { id: string }) => g.id === 'declared-1').state).to.equal('offline');
      });
    } finally {
      worker?.kill('SIGKILL');
    }
  });
});
