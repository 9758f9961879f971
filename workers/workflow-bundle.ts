import { bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** The workflows module every Kiln worker runs (compiled JS next to this file's output). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Bundles the workflow code once; tests and workers that create several Worker instances share the bundle instead of
 * paying webpack for each.
 */
export function bundleKilnWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
}

// webpack's progress lines are noise in Kiln's logs; warnings and errors still surface.
const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(`[kiln] workflow bundle: ${message}`),
  error: (message: string) => console.error(`[kiln] workflow bundle: ${message}`),
};
