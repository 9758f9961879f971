/**
 * Every long computation in ml/ checks its AbortSignal at natural checkpoints and stops with an Error named
 * 'AbortError' (the activity turns that into a Temporal cancellation).
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    const err = new Error(`${what} was aborted`, { cause: signal.reason });
    err.name = 'AbortError';
    throw err;
  }
}
