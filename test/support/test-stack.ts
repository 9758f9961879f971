import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Pool } from 'pg';
import { createPool } from '../../db/pool';
import { freePort } from '../../launcher/free-port';
import { RunningPostgres, startEmbeddedPostgres } from '../../launcher/embedded-postgres';
import { migrate } from '../../migrations/migrator';
import { getTestTemporal, stopTestTemporal } from './test-temporal';

/**
 * The real servers the integration tests share: the run's Temporal dev server and workflow bundle (test-temporal.ts,
 * shared with the workflow tests) and an embedded PostgreSQL on a free port in a temporary directory, migrated.
 * Started once per mocha run, on first use, and stopped by the root hook.
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
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-'));
  fs.chmodSync(tmpDir, 0o755); // the postgres user must reach its data directory inside
  const [{ env, workflowBundle }, pg] = await Promise.all([
    getTestTemporal(),
    freePort().then((port) =>
      startEmbeddedPostgres({ dataDir: path.join(tmpDir!, 'postgres'), port, persistent: false }),
    ),
  ]);
  postgres = pg;
  const pool = createPool(pg.url, 10);
  await migrate(pool);
  return { env, pool, databaseUrl: pg.url, workflowBundle };
}

/** Stops the stack and the shared Temporal server under it (a run that never started the stack stops the server too). */
export async function stopTestStack(): Promise<void> {
  if (starting) {
    const stack = await starting.catch(() => undefined);
    starting = undefined;
    await stack?.pool.end().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    postgres = undefined;
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    tmpDir = undefined;
  }
  await stopTestTemporal();
}
