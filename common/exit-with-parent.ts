/**
 * A process started by the launcher has an IPC channel to it; when the launcher is gone (even killed with -9), the
 * channel disconnects and this process shuts itself down instead of living on as an orphan.
 */
export function exitWithParent(): void {
  if (!process.send) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel must not by itself keep a finished process alive.
  process.channel?.unref();
}
