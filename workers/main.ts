import * as os from 'node:os';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { exitWithParent } from '../common/exit-with-parent';
import { ConfigError, loadConfig, requireDatabaseUrl } from '../common/config';
import type { DeclaredGpu } from '../common/declared-gpus';
import { Placement } from '../common/jobs';
import { initLogging, Logger } from '../common/logger';
import { runMain } from '../common/run-main';
import { TASK_QUEUES } from '../common/task-queues';
import { createPool } from '../db/pool';
import { DeviceAdmission } from '../gpu/admission';
import { loadDevices } from '../gpu/declared-inventory';
import { DiscoveredDevice } from '../gpu/discovery';
import { gpuQueues } from '../gpu/gpu-class';
import { migrate } from '../migrations/migrator';
import { initComputeBackend } from '../ml/backend';
import { applyComputeConfig } from '../ml/compute-config';
import { createKilnWorker } from './create-worker';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { DeviceSample, startTelemetryRecorder, TelemetryRecorder } from './telemetry-recorder';
import { temporalLogger } from './temporal-logger';
import { readWorkerFlags, resolveWorkerFlags } from './worker-flags';
import { bundleKilnWorkflows } from './workflow-bundle';

/** The device this GPU worker is pinned to (discovered by nvidia-smi, or declared with KILN_DECLARED_GPUS). */
async function pinnedDevice(
  index: number,
  declared: readonly DeclaredGpu[] | undefined,
  log: Logger,
): Promise<DiscoveredDevice> {
  const devices = await loadDevices({ declared, log: (m) => log.warn(m) });
  const device = devices.find((d) => d.index === index);
  if (!device) {
    const found = `found: ${devices.map((d) => `${d.index} ${d.name}`).join(', ') || 'none'}`;
    // A declaration settles the devices, so a missing one is a configuration mistake (exit status 78); nvidia-smi
    // finding none may be a driver that comes back, so that stays a failure a supervisor may retry.
    if (declared !== undefined)
      throw new ConfigError(
        `--device / KILN_GPU_DEVICE ${index} is not a device KILN_DECLARED_GPUS declares (${found})`,
      );
    throw new Error(
      `no GPU device ${index} (${found}); ` +
        'on a machine without a GPU, declare devices with KILN_DECLARED_GPUS to test routing',
    );
  }
  return device;
}

/**
 * `npm run worker [-- --pool cpu|gpu [--device N] [--memory-budget-mb MB] [--concurrency N]]` (workers/worker-flags.ts):
 * one worker process for one pool. A CPU worker polls kiln-cpu. A GPU worker is pinned to one device, polls kiln-gpu,
 * kiln-gpu-<class> and kiln-gpu-<class>-<budget>mb, admits activities by the device's memory budget (gpu/admission.ts)
 * and records the device's telemetry. Its mistakes stop it before it connects to anything: the flags (exit status 2),
 * then the configuration, the pinned device and the metrics port (exit status 78; common/exit-codes.ts).
 */
async function run(env: NodeJS.ProcessEnv, argv: string[]): Promise<void> {
  exitWithParent();
  const given = readWorkerFlags(argv);
  const config = loadConfig(env);
  const processLog = initLogging(config.log, { component: 'worker' });
  const flags = resolveWorkerFlags(given, config.worker);
  const databaseUrl = requireDatabaseUrl(config);
  const workerPool = flags.pool;
  const log = processLog.child({ pool: workerPool, ...(workerPool === 'gpu' ? { device: flags.device } : {}) });
  // Before any connection: the SDK's own lines, core's and workflow / activity `log` calls go to Kiln's logger.
  Runtime.install({
    logger: temporalLogger(log.child({ module: 'temporal-sdk' })),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  applyComputeConfig(config.compute);
  const backend = await initComputeBackend();
  const device = workerPool === 'gpu' ? await pinnedDevice(flags.device, config.declaredDevices, log) : undefined;
  const placementDevice: Placement['device'] | undefined = device
    ? { id: device.uuid, name: device.name, gpuClass: device.gpuClass, source: device.source }
    : undefined;
  const admission = device
    ? new DeviceAdmission({
        budgetMb: Math.min(flags.memoryBudgetMb ?? device.memoryTotalMb, device.memoryTotalMb),
        maxConcurrent: flags.concurrency,
      })
    : undefined;
  const queues = device && admission ? gpuQueues(device.gpuClass, admission.budgetMb) : [TASK_QUEUES.cpu];
  let workers: Worker[] = [];
  let latestSample: DeviceSample | undefined;
  const metrics = createWorkerMetrics({
    pool: workerPool,
    workers: () => workers,
    latestSample: () => latestSample,
    maxConcurrent: flags.concurrency,
    ...(admission ? { admission, deviceId: device?.uuid } : {}),
  });
  // Before any server is touched: a port in use stops the worker here (exit status 78), not after it has connected.
  const metricsPort = config.worker.metricsPort ?? 0;
  if (metricsPort > 0) await serveMetrics(metrics.registry, metricsPort, (line) => log.error(line));
  const pool = createPool(databaseUrl, 4, log);
  await migrate(pool);
  const connection = await NativeConnection.connect(config.temporal.connection);
  let recorder: TelemetryRecorder | undefined;
  try {
    const workflowBundle = await bundleKilnWorkflows(log);
    workers = await Promise.all(
      queues.map((taskQueue) =>
        createKilnWorker({
          connection,
          namespace: config.temporal.namespace,
          pool,
          workerPool,
          workflowBundle,
          taskQueue,
          device: placementDevice,
          maxConcurrentActivities: flags.concurrency,
          observer: metrics.observer,
          ...(admission ? { admission } : {}),
          ...(config.worker.testEvaluationDelayMs !== undefined
            ? { evaluationDelayMs: config.worker.testEvaluationDelayMs }
            : {}),
        }),
      ),
    );
    const workerId = `${os.hostname()}:${process.pid}:${workerPool}${device ? `:${device.index}` : ''}`;
    const jobsRunning = () => workers.reduce((sum, w) => sum + w.getStatus().numInFlightActivities, 0);
    // Every worker heartbeats its slots (GET /api/v1/resources/status); a GPU worker also samples its device.
    recorder = startTelemetryRecorder({
      pool,
      workerId,
      poolName: workerPool,
      queues,
      intervalMs: config.worker.telemetryIntervalMs,
      log: (m) => log.child({ module: 'telemetry' }).error(m),
      workerStats: () => {
        const running = jobsRunning();
        if (admission) {
          const s = admission.stats();
          return { slotsUsed: s.slotsUsed, slotsFree: s.slotsFree, jobsRunning: running };
        }
        return { slotsUsed: running, slotsFree: Math.max(0, flags.concurrency - running), jobsRunning: running };
      },
      sample: async () => {
        if (!device || !admission) return [];
        // Fresh readings for a discovered device; a declared one reports its declared values.
        const current =
          device.source === 'declared'
            ? device
            : ((await loadDevices({ log: (m) => log.warn(m) })).find((d) => d.uuid === device.uuid) ?? device);
        const stats = admission.stats();
        latestSample = {
          id: device.uuid,
          index: device.index,
          name: device.name,
          gpuClass: device.gpuClass,
          memoryTotalMb: device.memoryTotalMb,
          source: device.source,
          memoryUsedMb: current.memoryUsedMb ?? 0,
          utilizationPct: current.utilizationPct ?? 0,
          temperatureC: current.temperatureC ?? null,
          jobsRunning: jobsRunning(),
          slotsUsed: stats.slotsUsed,
          slotsFree: stats.slotsFree,
          memoryBudgetMb: stats.budgetMb,
          memoryReservedMb: stats.reservedMb,
          jobsWaiting: stats.waiting,
        };
        return [latestSample];
      },
    });
    log.info(
      {
        queues,
        backend: backend.name,
        backendDetail: backend.detail,
        ...(device && admission
          ? { gpu: { name: device.name, class: device.gpuClass, source: device.source }, budgetMb: admission.budgetMb }
          : {}),
        concurrency: flags.concurrency,
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        ...(metricsPort > 0 ? { metrics: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
      },
      `worker ready: pool=${workerPool} queues=${queues.join(',')} backend=${backend.name} pid=${process.pid}`,
    );
    // The launcher waits for this before it says the platform is ready.
    process.send?.({ kiln: 'ready' });
    // Worker.run installs SIGINT/SIGTERM handlers that shut every worker down gracefully.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await recorder?.stop();
    await connection.close();
    await pool.end();
  }
}

if (require.main === module) runMain(() => run(process.env, process.argv.slice(2)), { exitWhenDone: true });
