import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';
import type { Logger } from '../common/logger';
import { stopChild } from './temporal-dev-server';

export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Shows one line of the child's stdout or stderr (launcher/child-output.ts). */
  output: (line: string) => void;
  /** The launcher's logger, for what the supervisor itself has to say (a crash, a restart). */
  log: Logger;
  /** Called with every IPC message the child sends (readiness: `{ kiln: 'ready' }`). */
  onMessage?: (message: unknown) => void;
}

/**
 * A child process that is restarted when it dies unexpectedly, with a backoff that grows while it keeps crashing and
 * resets once it has stayed up a while. The IPC channel lets the child notice when the launcher itself is gone.
 */
export class SupervisedProcess {
  private child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: SupervisedOptions) {}

  start(): void {
    const { name, command, args, env, output, log } = this.opts;
    const startedAt = Date.now();
    // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops children in order.
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', output);
    }
    child.on('message', (message) => this.opts.onMessage?.(message));
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      if (Date.now() - startedAt > 60_000) this.restarts = 0;
      const delay = Math.min(30_000, 1_000 * 2 ** this.restarts);
      this.restarts += 1;
      log.warn(
        { process: name, code, signal, restartInSeconds: delay / 1000 },
        `${name} died (code ${code}, signal ${signal}); restarting it in ${delay / 1000} s`,
      );
      this.timer = setTimeout(() => this.start(), delay);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.child) await stopChild(this.child, graceMs);
  }
}
