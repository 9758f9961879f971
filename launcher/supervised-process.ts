import { ChildProcess } from 'node:child_process';
import type { Logger } from '../common/logger';
import { NO_RESTART_EXIT_CODES } from '../common/exit-codes';
import { RestartBackoff } from './restart-backoff';
import { StopPolicy, stopChild } from './stop-child';

export interface SupervisedOptions {
  /** How the launcher's lines name it: api, worker:cpu, temporal, postgres. */
  name: string;
  /**
   * Spawns one incarnation. It must get its own process group (`detached: true`): a terminal's Ctrl-C then reaches only
   * the launcher, which stops its children in order (Postgres last).
   */
  spawn: () => ChildProcess;
  /** Runs before each spawn (clearing a stale lock file); a throw counts as a failed start. */
  prepare?: () => void | Promise<void>;
  /**
   * Resolves once a spawned incarnation serves (default: as soon as it is spawned). A rejection counts as a failed
   * start: that incarnation is stopped and another one started after the backoff.
   */
  ready?: (child: ChildProcess) => Promise<void>;
  /** How it is stopped (default SIGTERM, then SIGKILL after 15 s). */
  stop?: StopPolicy;
  /**
   * When true, a first start that fails rejects `start()` instead of being retried: Postgres and Temporal fail to start
   * for reasons a retry does not fix (a port in use, a broken data directory), and the launcher should say so and exit.
   * Once an incarnation has been ready, every later death is restarted either way.
   */
  failFast?: boolean;
  /** The launcher's logger, for what the supervisor itself has to say (a crash, a restart). */
  log: Logger;
  /** Told each incarnation's pid once it is spawned, and `undefined` once it has ended (the launcher's pid file). */
  onPid?: (pid: number | undefined) => void;
}

/** A child that exited with a status a restart would only repeat (common/exit-codes.ts); the launcher exits with it. */
export class NotRestartedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'NotRestartedError';
  }
}

/** How one incarnation ended: whether it had been ready, and why it ended, for the restart line. */
interface Ending {
  ready: boolean;
  reason: string;
  code?: number | null;
  signal?: NodeJS.Signals | null;
}

/** The end of a spawned process: its exit, or the spawn error when it never started (no pid: ENOENT, EACCES). */
function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // Also when it runs: an unheard 'error' (a failed kill or IPC send) would crash the launcher.
    child.on('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
}

/**
 * How a ready incarnation that the launcher did not stop ended. Exit code 0 is a clean exit, as the API and the workers
 * make on a SIGTERM from someone else (an operator's kill): "died" would read as a crash.
 */
function diedReason(code: number | null, signal: NodeJS.Signals | null): string {
  if (code === 0) return 'exited (code 0) without the launcher stopping it (a SIGTERM from another process?)';
  return `died (code ${code}, signal ${signal})`;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A child process (API, worker, Temporal dev server, Postgres) kept running until stop(): when it dies, or a restart
 * fails to become ready, the supervisor logs why and starts it again after a backoff (launcher/restart-backoff.ts)
 * that grows while it keeps failing and resets once it has stayed up a minute.
 */
export class SupervisedProcess {
  private child?: ChildProcess;
  private stopping = false;
  /** Whether stop() has signalled the running incarnation: its exit is then the one asked for. */
  private signalled = false;
  private readonly backoff = new RestartBackoff();
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(private readonly opts: SupervisedOptions) {}

  /**
   * Starts supervising. Resolves once the first incarnation is ready; rejects when stop() comes first, or (failFast)
   * with the reason the first start failed.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.loop = this.supervise(resolve, reject);
    });
  }

  /** The running incarnation's pid, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Stops restarting it, without signalling it: the launcher is stopping and will stop() it in its turn. An
   * incarnation that exits before then (a service manager that signals every process of the unit at once) is logged at
   * info, not restarted.
   */
  stopRestarting(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Stops restarting it and stops the running incarnation (its stop policy); resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopRestarting();
    if (this.child) {
      this.signalled = true;
      await stopChild(this.child, this.policy);
    }
    await this.loop;
  }

  private get policy(): StopPolicy {
    return this.opts.stop ?? { signal: 'SIGTERM', graceMs: 15_000 };
  }

  private async supervise(resolve: () => void, reject: (err: Error) => void): Promise<void> {
    const { name, log } = this.opts;
    let wasReady = false;
    while (!this.stopping) {
      const startedAt = Date.now();
      const ending = await this.runOnce(() => {
        if (!wasReady) resolve();
        else log.info({ process: name, pid: this.pid }, `${name} restarted (pid ${this.pid})`);
        wasReady = true;
      });
      if (this.stopping) {
        if (!this.signalled && ending.code !== undefined) {
          // Not our signal, but the launcher is stopping anyway: nothing to warn about, nothing to restart.
          log.info(
            { process: name, code: ending.code, signal: ending.signal },
            `${name} exited (code ${ending.code}, signal ${ending.signal}) while the launcher is stopping`,
          );
        }
        break;
      }
      if (ending.code != null && NO_RESTART_EXIT_CODES.has(ending.code)) {
        // A bad configuration or command line (common/exit-codes.ts): another start would only repeat it.
        const why = `${name} ${ending.reason}: a configuration or command-line error (see its last line); not restarting`;
        log.error({ process: name, code: ending.code }, why);
        if (!wasReady) reject(new NotRestartedError(why, ending.code));
        return;
      }
      if (!wasReady && this.opts.failFast) {
        reject(new Error(`${name} ${ending.reason}`));
        return;
      }
      const delay = this.backoff.next(Date.now() - startedAt);
      log.warn(
        { process: name, code: ending.code, signal: ending.signal, restartInSeconds: delay / 1000 },
        `${name} ${ending.reason}; restarting it in ${delay / 1000} s`,
      );
      await this.sleep(delay);
    }
    if (!wasReady) reject(new Error(`${name} was stopped before it was ready`));
  }

  /** Prepares, spawns and waits for one incarnation; returns once it has ended. */
  private async runOnce(onReady: () => void): Promise<Ending> {
    try {
      await this.opts.prepare?.();
    } catch (err) {
      return { ready: false, reason: `failed to start: ${message(err)}` };
    }
    if (this.stopping) return { ready: false, reason: 'stopped' };
    let child: ChildProcess;
    try {
      child = this.opts.spawn();
    } catch (err) {
      return { ready: false, reason: `failed to start: ${message(err)}` };
    }
    const end = ended(child);
    if (child.pid === undefined) {
      const { error } = await end;
      return { ready: false, reason: `failed to start: ${message(error)}` };
    }
    this.child = child;
    this.opts.onPid?.(child.pid);
    try {
      const readiness = Promise.resolve()
        .then(() => this.opts.ready?.(child))
        .then(
          () => ({ ok: true as const }),
          (err: unknown) => ({ ok: false as const, err }),
        );
      const first = await Promise.race([readiness, end.then(() => undefined)]);
      if (first?.ok) onReady();
      else if (first && !this.stopping) {
        // Alive but not serving: stop this incarnation so that the next one starts clean.
        await stopChild(child, this.policy);
        return { ready: false, reason: `failed to start: ${message(first.err)}` };
      }
      const { code, signal } = await end;
      const how = `(code ${code}, signal ${signal})`;
      return {
        ready: first?.ok === true,
        reason: first?.ok ? diedReason(code, signal) : `exited before it was ready ${how}`,
        code,
        signal,
      };
    } finally {
      this.child = undefined;
      this.opts.onPid?.(undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
