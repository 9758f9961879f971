/** The first restart's delay; each further one in a row doubles it. */
const BASE_MS = 1_000;
/** The longest wait between two restarts. */
const MAX_MS = 30_000;
/** An incarnation that stayed up this long counts as healthy: the next crash starts the doubling over. */
const STABLE_MS = 60_000;

/**
 * The launcher's restart delays for a crashing child (workers, API, Temporal, Postgres alike): 1 s, 2 s, 4 s ... up to
 * 30 s while it keeps dying, back to 1 s once an incarnation has stayed up for a minute.
 */
export class RestartBackoff {
  private restarts = 0;

  /** The delay in ms before the next start, given how long (ms) the incarnation that just ended had been up. */
  next(uptimeMs: number): number {
    if (uptimeMs > STABLE_MS) this.restarts = 0;
    const delay = Math.min(MAX_MS, BASE_MS * 2 ** this.restarts);
    this.restarts += 1;
    return delay;
  }
}
