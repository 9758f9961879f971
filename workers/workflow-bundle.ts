import { bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Logger, rootLogger } from '../common/logger';

/** The workflows module every Kiln worker runs (compiled JS next to this file's output). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Bundles the workflow code once; tests and workers that create several Worker instances share the bundle instead of
 * paying webpack for each. webpack's warnings and errors go to `log` (default: the process's logger).
 */
export function bundleKilnWorkflows(log?: Logger): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger(log ?? rootLogger()) });
}

// webpack's progress lines are noise in Kiln's logs; warnings and errors still surface.
function quietLogger(parent: Logger) {
  const log = parent.child({ module: 'workflow-bundle' });
  return {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => log.warn(message),
    error: (message: string) => log.error(message),
  };
}
