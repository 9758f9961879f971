import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { KILN_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { loadConfig } from '../../common/config';
import { cliSearch, resolveTemporalCli } from '../../launcher/temporal-cli';
import { dynamicConfigFlags } from '../../launcher/temporal-dynamic-config';
import { bundleKilnWorkflows } from '../../workers/workflow-bundle';

/**
 * The Temporal dev server every test of a mocha run shares (the resolved CLI, started by
 * TestWorkflowEnvironment.createLocal on a free port, Kiln's search attributes registered) and the workflow bundle,
 * built once. No database: workflow tests with mocked activities need only this; the integration stack
 * (test-stack.ts) adds Postgres on top. Started on first use, stopped by the root hook. Tests keep apart by task queue.
 */
export interface TestTemporal {
  env: TestWorkflowEnvironment;
  workflowBundle: WorkflowBundleWithSourceMap;
}

let starting: Promise<TestTemporal> | undefined;

export function getTestTemporal(): Promise<TestTemporal> {
  starting ??= start();
  return starting;
}

async function start(): Promise<TestTemporal> {
  const cli = await resolveTemporalCli(cliSearch(loadConfig(process.env).launcher, process.env.PATH));
  // The server starts while webpack bundles: both take seconds, neither needs the other.
  const environment = TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      ip: '127.0.0.1',
      searchAttributes: KILN_SEARCH_ATTRIBUTES,
      extraArgs: dynamicConfigFlags(),
    },
  });
  const bundle = bundleKilnWorkflows();
  try {
    return { env: await environment, workflowBundle: await bundle };
  } catch (err) {
    // A server that started must not outlive a failed start (nothing else would stop it).
    await environment.then((env) => env.teardown()).catch(() => undefined);
    await bundle.catch(() => undefined);
    throw err;
  }
}

export async function stopTestTemporal(): Promise<void> {
  if (!starting) return;
  const temporal = await starting.catch(() => undefined);
  starting = undefined;
  await temporal?.env.teardown().catch(() => undefined);
}
