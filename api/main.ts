import { Client, Connection } from '@temporalio/client';
import { exitWithParent } from '../common/exit-with-parent';
import { loadConfig } from '../common/config';
import { limitsFromEnv } from '../datasets/limits';
import { createPool } from '../db/pool';
import { migrate } from '../migrations/migrator';
import { createApp } from './app';
import { bodyLimitsFromEnv } from './body-limits';
import { createApiMetrics } from './metrics';
import { JobService } from './services/jobs';

/** `npm run api`: the REST API against TEMPORAL_ADDRESS and DATABASE_URL. */
async function run(): Promise<void> {
  exitWithParent();
  const config = loadConfig();
  const pool = createPool(config.databaseUrl);
  const applied = await migrate(pool);
  if (applied.length) console.log(`[kiln] api applied migrations ${applied.join(', ')}`);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const app = createApp({
    pool,
    temporal,
    jobs: new JobService(temporal),
    metrics: createApiMetrics(),
    limits: limitsFromEnv(),
    bodyLimits: bodyLimitsFromEnv(),
    temporalUiUrl: process.env.KILN_TEMPORAL_UI_URL,
    namespace: config.temporalNamespace,
  });
  const server = app.listen(config.port, config.host, () => {
    console.log(
      `[kiln] api listening on http://${config.host}:${config.port} (temporal ${config.temporalAddress}) pid=${process.pid}`,
    );
  });

  const shutdown = () => {
    server.close(() => {
      void Promise.allSettled([connection.close(), pool.end()]).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
