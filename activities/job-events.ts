import { Context } from '@temporalio/activity';
import type { JobEventType } from '../common/job-events';
import { appendJobEvent } from '../db/job-events';
import type { Queryable } from '../db/pool';

/** Appends events to the log of the job an activity runs for (its workflow id). */
export interface JobEventWriter {
  /** The job (workflow id); undefined outside a workflow (then appends do nothing). */
  readonly jobId: string | undefined;
  /**
   * Appends one event under its idempotency key (db/job-events.ts). Never throws: the log observes the job and
   * Temporal stays the source of truth, so a failed append (Postgres down) is logged and the job goes on. Resolves
   * true when the event is in the log (written now or before), false when it is not (failed, or after `end`).
   */
  append(type: JobEventType, data: Record<string, unknown>, key: string): Promise<boolean>;
}

/** The event writer of the activity running in `ctx` (default: the current one). */
export function jobEventWriter(db: Queryable, ctx: Context = Context.current()): JobEventWriter {
  const jobId = ctx.info.workflowExecution?.workflowId;
  return {
    jobId,
    async append(type, data, key) {
      if (!jobId) return false;
      try {
        return (await appendJobEvent(db, { jobId, type, data, key })) !== undefined;
      } catch (err) {
        ctx.log.warn('job event not recorded', { jobId, type, key, error: (err as Error).message });
        return false;
      }
    },
  };
}

/**
 * Progress events of a computation that reports more often than a log should grow (a k-means iteration, a block of
 * DBSCAN neighbours): at most one per `everyMs`, the first at once, appended one after another in report order. A
 * computation that starts over on retry reports its own progress again, so the keys carry the attempt
 * (`progress:<scope>:a<attempt>:<n>`): a retried append of the same report finds its event, a new attempt's reports
 * are new events, and so does the data (`attempt`, from 1), so that a retry is visible in the stream.
 */
export class ThrottledProgress {
  private last = -Infinity;
  private count = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: JobEventWriter,
    private readonly scope: string,
    private readonly attempt: number,
    private readonly everyMs = 1000,
  ) {}

  /** Appends `data` as a progress event when `everyMs` has passed since the last one (or `force`); resolves once written. */
  report(data: Record<string, unknown>, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.last < this.everyMs) return this.chain;
    this.last = now;
    const key = `progress:${this.scope}:a${this.attempt}:${++this.count}`;
    this.chain = this.chain.then(async () => {
      // The attempt in the data too: a retry's progress starts over, and a reader sees which attempt it belongs to.
      await this.writer.append('progress', { ...data, attempt: this.attempt }, key);
    });
    return this.chain;
  }

  /** Resolves once every report so far is written (call before the activity returns, so they precede `end`). */
  flush(): Promise<void> {
    return this.chain;
  }
}
