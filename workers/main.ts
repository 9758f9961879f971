import { NativeConnection } from '@temporalio/worker';
import { exitWithParent } from '../common/exit-with-parent';
import { loadConfig, poolFromArgs } from '../common/config';
import { TASK_QUEUES } from '../common/task-queues';
import { createPool } from '../db/pool';
import { migrate } from '../migrations/migrator';
import { initComputeBackend } from '../ml/backend';
import { createKilnWorker } from './create-worker';
import { bundleKilnWorkflows } from './workflow-bundle';

/** `npm run worker [-- --pool cpu|gpu]`: one worker process for one pool, against TEMPORAL_ADDRESS and DATABASE_URL. */
async function run(): Promise<void> {
  exitWithParent();
  const config = loadConfig();
  const workerPool = poolFromArgs(process.argv.slice(2));
  const pool = createPool(config.databaseUrl, 4);
  await migrate(pool);
  const backend = await initComputeBackend();
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  try {
    const worker = await createKilnWorker({
      connection,
      namespace: config.temporalNamespace,
      pool,
      workerPool,
      workflowBundle: await bundleKilnWorkflows(),
    });
    console.log(`[kiln] worker pool=${workerPool} queue=${TASK_QUEUES[workerPool]} backend=${backend.name} (${backend.detail}) temporal=${config.temporalAddress} pid=${process.pid}`);
    // Worker.run installs SIGINT/SIGTERM handlers that shut it down gracefully.
    await worker.run();
  } finally {
    await connection.close();
    await pool.end();
  }
}

run().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
