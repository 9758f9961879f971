import { ChildProcess } from 'node:child_process';

/** How a child is asked to stop: the signal it treats as "shut down cleanly", and how long it gets before SIGKILL. */
export interface StopPolicy {
  signal: NodeJS.Signals;
  graceMs: number;
}

/**
 * Sends `policy.signal` (default SIGTERM, 10 s), then SIGKILL once the grace period has passed; resolves when the
 * process is gone (at once when it already is, or never started).
 */
export function stopChild(
  child: ChildProcess,
  policy: StopPolicy = { signal: 'SIGTERM', graceMs: 10_000 },
): Promise<void> {
  if (child.pid === undefined || hasEnded(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), policy.graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(policy.signal);
  });
}

/** True once the process has exited or was killed (a readiness probe stops polling a process that is gone). */
export function hasEnded(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
