/** How often the launcher looks at its parent pid. */
const INTERVAL_MS = 500;

/**
 * Calls `onGone` once when the process that started this one has exited (this one is then re-parented, so its parent
 * pid changes). `npm start` forwards SIGINT and SIGTERM to the launcher but dies of SIGHUP or SIGKILL without a word;
 * the launcher must not live on as an orphan then. Nothing is watched when the parent is already init (pid 1: a
 * container's or a service manager's child). Returns a function that stops watching.
 */
export function watchParent(onGone: () => void): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
