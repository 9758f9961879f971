import { ChildProcess, spawn } from 'node:child_process';
import { forwardLines } from './child-lines';

export interface NodeChildOptions {
  /** The compiled entry point (dist/api/main.js, dist/workers/main.js). */
  script: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** Shows one line of the child's stdout or stderr (launcher/child-output.ts). */
  output: (line: string) => void;
}

/**
 * Spawns a Kiln entry point on this Node, in its own process group (a terminal's Ctrl-C reaches only the launcher),
 * with an IPC channel: the child notices when the launcher is gone (common/exit-with-parent.ts) and reports readiness.
 */
export function spawnNodeChild(opts: NodeChildOptions): ChildProcess {
  const child = spawn(process.execPath, [opts.script, ...(opts.args ?? [])], {
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  forwardLines(child, opts.output);
  return child;
}

/** Resolves when the child sends `{ kiln: 'ready' }` over IPC (workers/main.ts, once it polls its task queues). */
export function readyMessage(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { kiln?: unknown } | null)?.kiln !== 'ready') return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
  });
}
