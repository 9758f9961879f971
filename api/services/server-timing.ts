/**
 * Named phases of one request in milliseconds, sent back as a `Server-Timing` response header (W3C Server Timing:
 * `parse;dur=3.1, dataset;dur=6.0, start;dur=4.2`), so that a client (bench/job-latency.ts) can split an answer's time
 * into the API's own phases without reading server logs. Durations are wall-clock (performance.now), rounded to 0.1 ms.
 */
export class ServerTiming {
  private readonly entries: Array<{ name: string; ms: number }> = [];

  /** Runs `fn` and records its duration under `name`, also when it throws (the header is then usually not sent). */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.entries.push({ name, ms: performance.now() - t0 });
    }
  }

  /** The header's value: `name;dur=ms` per phase in the order they ended, comma-separated. */
  header(): string {
    return this.entries.map((e) => `${e.name};dur=${e.ms.toFixed(1)}`).join(', ');
  }
}

/** `fn` timed under `name` on `timing`, or just `fn` when there is no timing to record into. */
export function timed<T>(timing: ServerTiming | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  return timing ? timing.time(name, fn) : fn();
}
