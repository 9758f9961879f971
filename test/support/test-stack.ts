import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Pool } from 'pg';
import { loadConfig } from '../../common/config';
import { KILN_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { createPool } from '../../db/pool';
import { freePort } from '../../launcher/free-port';
import { RunningPostgres, startEmbeddedPostgres } from '../../launcher/embedded-postgres';
import { cliSearch, resolveTemporalCli } from '../../launcher/temporal-cli';
import { migrate } from '../../migrations/migrator';
import { bundleKilnWorkflows } from '../../workers/workflow-bundle';

/**
 * The real servers the integration tests share: a Temporal dev server (the resolved CLI, started by
 * TestWorkflowEnvironment.createLocal on a free port) and an embedded PostgreSQL on a free port in a temporary
 * directory, migrated. Started once per mocha run, on first use, and stopped by the root hook.
 */
export interface TestStack {
  env: TestWorkflowEnvironment;
  pool: Pool;
  databaseUrl: string;
  workflowBundle: WorkflowBundleWithSourceMap;
}

let starting: Promise<TestStack> | undefined;
let postgres: RunningPostgres | undefined;
let tmpDir: string | undefined;

export function getTestStack(): Promise<TestStack> {
  starting ??= start();
  return starting;
}

async function start(): Promise<TestStack> {
  const cli = await resolveTemporalCli(cliSearch(loadConfig(process.env).launcher, process.env.PATH));
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-'));
  fs.chmodSync(tmpDir, 0o755); // the postgres user must reach its data directory inside
  const [env, pg] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli.path },
        ip: '127.0.0.1',
        searchAttributes: KILN_SEARCH_ATTRIBUTES,
      },
    }),
    freePort().then((port) =>
      startEmbeddedPostgres({ dataDir: path.join(tmpDir!, 'postgres'), port, persistent: false }),
    ),
  ]);
  postgres = pg;
  const pool = createPool(pg.url, 10);
  await migrate(pool);
  const workflowBundle = await bundleKilnWorkflows();
  return { env, pool, databaseUrl: pg.url, workflowBundle };
}

export async function stopTestStack(): Promise<void> {
  if (!starting) return;
  const stack = await starting.catch(() => undefined);
  starting = undefined;
  await stack?.pool.end().catch(() => undefined);
  await stack?.env.teardown().catch(() => undefined);
  await postgres?.stop().catch(() => undefined);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}
