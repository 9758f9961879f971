import { expect } from 'chai';
import { MockActivityEnvironment } from '@temporalio/testing';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, loadConfig } from '../../common/config';
import { FlagError } from '../../common/flags';
import { initComputeBackend } from '../../ml/backend';
import { DeviceAdmission } from '../../gpu/admission';
import { instrumentActivities } from '../../workers/instrument-activities';
import { createWorkerMetrics } from '../../workers/metrics';
import { readWorkerFlags, resolveWorkerFlags, workerFlags } from '../../workers/worker-flags';

/** The value of one Prometheus series line, e.g. `name{a="b"} 3`, or undefined when absent. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('worker metrics: slots, activity durations, fallbacks, admission', () => {
  it('counts activity outcomes and durations by pool, and a routed job that ran on its fallback queue', async () => {
    const { registry, observer } = createWorkerMetrics({
      pool: 'cpu',
      workers: () => [],
      latestSample: () => undefined,
      maxConcurrent: 2,
    });
    const activities = instrumentActivities(
      {
        async compute(_input: unknown) {
          return 'done';
        },
        async broken(_input: unknown) {
          throw new Error('boom');
        },
      },
      observer,
    );
    const onCpu = new MockActivityEnvironment({ taskQueue: 'kiln-cpu' });
    const routed = { route: { taskQueue: 'kiln-gpu', fallback: { taskQueue: 'kiln-cpu', afterSeconds: 30 } } };
    expect(await onCpu.run(activities.compute, routed)).to.equal('done');
    expect(await onCpu.run(activities.compute, {})).to.equal('done');
    let failed = false;
    await onCpu.run(activities.broken, {}).catch(() => (failed = true));
    expect(failed).to.equal(true);
    // The same routed input on the GPU queue it was routed to is not a fallback.
    await new MockActivityEnvironment({ taskQueue: 'kiln-gpu' }).run(activities.compute, routed);

    const text = await registry.metrics();
    expect(seriesValue(text, 'kiln_worker_fallbacks_total{pool="cpu",activity="compute"}')).to.equal(1);
    expect(
      seriesValue(
        text,
        'kiln_worker_activity_duration_seconds_count{pool="cpu",activity="compute",outcome="completed"}',
      ),
    ).to.equal(3);
    expect(
      seriesValue(text, 'kiln_worker_activity_duration_seconds_count{pool="cpu",activity="broken",outcome="failed"}'),
    ).to.equal(1);
    expect(seriesValue(text, 'kiln_worker_slots_free{pool="cpu"}')).to.equal(2);
  });

  it('reports the live tfjs tensors and their bytes at scrape time, so a leak shows as a climbing series', async () => {
    await initComputeBackend();
    const { registry } = createWorkerMetrics({
      pool: 'cpu',
      workers: () => [],
      latestSample: () => undefined,
      maxConcurrent: 2,
    });
    const labels = `{pool="cpu",backend="${tf.getBackend()}"}`;
    const before = await registry.metrics();
    const baseTensors = seriesValue(before, `kiln_worker_tf_tensors${labels}`)!;
    const baseBytes = seriesValue(before, `kiln_worker_tf_bytes${labels}`)!;
    const leaked = tf.zeros([256, 4], 'float32');
    try {
      const during = await registry.metrics();
      expect(seriesValue(during, `kiln_worker_tf_tensors${labels}`)).to.equal(baseTensors + 1);
      expect(seriesValue(during, `kiln_worker_tf_bytes${labels}`)).to.equal(baseBytes + 256 * 4 * 4);
    } finally {
      leaked.dispose();
    }
    expect(seriesValue(await registry.metrics(), `kiln_worker_tf_tensors${labels}`)).to.equal(baseTensors);
  });

  it('reports a GPU device budget, reserved memory, waiting jobs, slots and admission waits from its admission', async () => {
    const admission = new DeviceAdmission({ budgetMb: 8192, maxConcurrent: 4 });
    const { registry } = createWorkerMetrics({
      pool: 'gpu',
      workers: () => [],
      latestSample: () => undefined,
      maxConcurrent: 4,
      admission,
      deviceId: 'gpu-0',
    });
    const supplier = admission.slotSupplier();
    const permit = await supplier.reserveSlot(
      { slotType: 'activity', taskQueue: 'kiln-gpu' } as never,
      new AbortController().signal,
    );
    supplier.markSlotUsed({ slotInfo: { type: 'activity', activityType: 'runClustering' }, permit });
    const first = await admission.admit(6144);
    const second = admission.admit(6144);
    let text = await registry.metrics();
    const device = '{pool="gpu",device="gpu-0"}';
    expect(seriesValue(text, `kiln_gpu_memory_budget_mb${device}`)).to.equal(8192);
    expect(seriesValue(text, `kiln_gpu_memory_reserved_mb${device}`)).to.equal(6144);
    expect(seriesValue(text, `kiln_gpu_jobs_waiting${device}`)).to.equal(1);
    expect(seriesValue(text, 'kiln_worker_slots_used{pool="gpu"}')).to.equal(1);
    expect(seriesValue(text, 'kiln_worker_slots_free{pool="gpu"}')).to.equal(3);
    first.release();
    (await second).release();
    text = await registry.metrics();
    expect(seriesValue(text, `kiln_gpu_admission_wait_seconds_count${device}`)).to.equal(2);
    expect(seriesValue(text, `kiln_gpu_memory_reserved_mb${device}`)).to.equal(0);
  });
});

describe('worker flags', () => {
  /** The worker's settings from an environment, as workers/main.ts gets them (common/config.ts). */
  const fromEnv = (env: Record<string, string>) => loadConfig(env).worker;

  it('reads pool, device, memory budget and concurrency from flags over the environment, with per-pool defaults', () => {
    expect(workerFlags([], fromEnv({}))).to.deep.equal({ pool: 'cpu', device: 0, concurrency: 2 });
    expect(workerFlags(['--pool', 'gpu'], fromEnv({}))).to.deep.equal({ pool: 'gpu', device: 0, concurrency: 8 });
    expect(
      workerFlags(
        ['--pool=gpu', '--device', '1', '--memory-budget-mb=6000', '--concurrency', '3'],
        fromEnv({ KILN_GPU_MEMORY_BUDGET_MB: '9', KILN_WORKER_CONCURRENCY: '9' }),
      ),
    ).to.deep.equal({ pool: 'gpu', device: 1, memoryBudgetMb: 6000, concurrency: 3 });
    expect(
      workerFlags(
        [],
        fromEnv({
          KILN_POOL: 'gpu',
          KILN_GPU_DEVICE: '2',
          KILN_GPU_MEMORY_BUDGET_MB: '4096',
          KILN_WORKER_CONCURRENCY: '5',
        }),
      ),
    ).to.deep.equal({
      pool: 'gpu',
      device: 2,
      memoryBudgetMb: 4096,
      concurrency: 5,
    });
    expect(() => workerFlags(['--memory-budget-mb', '0'], fromEnv({}))).to.throw(
      /--memory-budget-mb must be a positive integer/,
    );
    expect(() => workerFlags(['--concurrency', 'many'], fromEnv({}))).to.throw(/--concurrency/);
    expect(() => workerFlags(['--device', '-1'], fromEnv({}))).to.throw(/--device/);
    expect(() => workerFlags(['--device=-1'], fromEnv({}))).to.throw(/--device must be a non-negative integer/);
    expect(() => workerFlags(['--pool', 'tpu'], fromEnv({}))).to.throw(/unknown pool/);
  });

  it('refuses an unknown flag, a flag without its value and a stray argument, listing the valid flags', () => {
    const valid = /valid flags: --pool cpu\|gpu, --device N, --memory-budget-mb MB, --concurrency N/;
    expect(() => workerFlags(['--devcie', '1'], fromEnv({})))
      .to.throw(FlagError, /unknown flag --devcie/)
      .with.property('message')
      .that.matches(valid);
    expect(() => workerFlags(['--pool'], fromEnv({}))).to.throw(FlagError, /--pool/);
    expect(() => workerFlags(['cpu'], fromEnv({}))).to.throw(FlagError, /unexpected argument "cpu"/);
  });

  it('reports every malformed flag value as a FlagError naming the flag, and a repeated flag too', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--pool', 'tpu'], /^unknown pool "tpu" for --pool: use cpu or gpu$/],
      [['--concurrency', '0'], /^--concurrency must be a positive integer, got "0"$/],
      [['--concurrency=-1'], /^--concurrency must be a positive integer, got "-1"$/],
      [['--concurrency', '1.5'], /^--concurrency must be a positive integer, got "1\.5"$/],
      [['--device', 'one'], /^--device must be a non-negative integer, got "one"$/],
      [['--memory-budget-mb', '8GB'], /^--memory-budget-mb must be a positive integer, got "8GB"$/],
      [['--pool', 'cpu', '--pool', 'gpu'], /^--pool is given 2 times \(cpu, gpu\); give each flag once$/],
      [['--concurrency', '2', '--concurrency=3'], /^--concurrency is given 2 times/],
    ];
    for (const [argv, message] of cases) {
      expect(() => workerFlags(argv, fromEnv({})), argv.join(' ')).to.throw(FlagError, message);
      expect(() => readWorkerFlags(argv), argv.join(' ')).to.throw(FlagError, message);
    }
  });

  it('answers --help with every flag, its variable and its default, before any configuration is read', () => {
    let text = '';
    expect(() =>
      readWorkerFlags(['--help'], {
        onHelp: (help) => {
          text = help;
          throw new Error('help');
        },
      }),
    ).to.throw('help');
    expect(text).to.match(/^Usage: npm run worker -- \[--pool cpu\|gpu\] \[--device N\] \[--memory-budget-mb MB\]/);
    for (const flag of ['--pool cpu|gpu', '--device N', '--memory-budget-mb MB', '--concurrency N', '-h, --help'])
      expect(text).to.contain(`  ${flag} `);
    for (const variable of ['KILN_POOL', 'KILN_GPU_DEVICE', 'KILN_GPU_MEMORY_BUDGET_MB', 'KILN_WORKER_CONCURRENCY'])
      expect(text).to.contain(variable);
    expect(resolveWorkerFlags(readWorkerFlags(['--pool', 'gpu']), fromEnv({ KILN_GPU_DEVICE: '2' }))).to.deep.equal({
      pool: 'gpu',
      device: 2,
      concurrency: 8,
    });
  });

  it('reports a malformed environment value by its variable, not as a flag', () => {
    expect(() => fromEnv({ KILN_GPU_DEVICE: 'one' })).to.throw(
      ConfigError,
      /KILN_GPU_DEVICE must be a non-negative integer/,
    );
    expect(() => fromEnv({ KILN_POOL: 'tpu' })).to.throw(ConfigError, /KILN_POOL must be one of cpu, gpu, got "tpu"/);
  });
});
