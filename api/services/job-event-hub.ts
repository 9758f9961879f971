import type { Notification, Pool, PoolClient } from 'pg';
import { NotFoundError } from '../../common/errors';
import { JOB_EVENTS_CHANNEL, JobEnd, JobEvent } from '../../common/job-events';
import { Logger, rootLogger } from '../../common/logger';
import { appendJobEvent, endEventSeq, hasJobEvents, listJobEvents, setJobEventTime } from '../../db/job-events';
import { inTransaction } from '../../db/pool';

/** Events one query reads: a subscriber catching up on a long log takes several. */
export const EVENT_PAGE = 1000;
/** How long one wait for a job to close lasts before it is asked again (a long poll on its history). */
const WATCH_MS = 30_000;
/** The least time between two looks at a job's status, and the wait after a failed query or a lost connection. */
const RETRY_MS = 1000;

/** How a job ended (its `end` event's data) and when Temporal closed it (the event's `at`). */
export interface JobEnding {
  end: JobEnd;
  closedAt?: Date;
}

/** What the hub asks Temporal (JobService): how a job ended, and a bounded wait for it to close. */
export interface JobEndings {
  ending(jobId: string): Promise<JobEnding | undefined>;
  waitForClose(jobId: string, ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Where a job's log stands: `live` (the job runs: more events will come), `ended` (its `end` event is in the log),
 * `expired` (Temporal no longer knows the job, which closed before any reader asked for its `end`: the log is all
 * there will be).
 */
export type LogState = 'live' | 'ended' | 'expired';

/**
 * A subscriber's receiver: each call gets the next events after the last one it got, in seq order, none twice. The
 * array may be shared with other subscribers: read it, do not change it.
 */
export type EventSink = (events: JobEvent[]) => void;

export interface Subscription {
  close(): void;
}

interface Subscriber {
  /** The last seq delivered (or the client's Last-Event-ID). */
  cursor: number;
  sink: EventSink;
  /** Called when the hub closes (the API shuts down): the stream should end. */
  onHubClose: () => void;
}

/** The subscribers of one job in this process, and the watch for the job's close. */
interface Feed {
  subs: Set<Subscriber>;
  pulling: boolean;
  again: boolean;
  watch?: AbortController;
}

/** The page of GET /api/v1/jobs/:id/events?after= (`next`: the last seq returned, or `after` when none). */
export interface EventPage {
  jobId: string;
  events: JobEvent[];
  next: number;
  done: boolean;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The API process's fan-out of job events (README: Live job events). One LISTEN connection per process, opened on
 * the first subscriber and shared by all: a notification carries ids only (`{jobId, seq}`), and for a job with
 * subscribers here it triggers one query for the events after the lowest cursor among them, whose rows every
 * subscriber receives past its own cursor. Pulls of a job never overlap (a notification during one pulls again after
 * it), and seq commits in order (db/job-events.ts), so each subscriber gets every event once, in order.
 *
 * The terminal `end` event is the API's to append, from Temporal, the source of truth: when a reader finds the job
 * closed (open(), and the watch each job with subscribers has here: a long poll on its history that wakes when it
 * closes), keyed `end` so that any number of API processes append it once. Activities of a cancelled or terminated
 * job that still report afterwards append nothing (the log refuses events after `end`).
 */
export class JobEventHub {
  private readonly feeds = new Map<string, Feed>();
  private listening: Promise<PoolClient> | undefined;
  /** Closes the current LISTEN connection without reconnecting. */
  private detach: (() => void) | undefined;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly pool: Pool,
    private readonly jobs: JobEndings,
    log?: Logger,
  ) {
    this.log = (log ?? rootLogger()).child({ module: 'job-events' });
  }

  /**
   * Where the job's log stands, appending its `end` event when Temporal says the job closed and the log has none yet.
   * NotFoundError (404, field `jobId`) for a job neither Temporal nor the log knows.
   */
  async open(jobId: string): Promise<LogState> {
    if ((await endEventSeq(this.pool, jobId)) !== undefined) return 'ended';
    let ending: JobEnding | undefined;
    try {
      ending = await this.jobs.ending(jobId);
    } catch (err) {
      if (err instanceof NotFoundError && (await hasJobEvents(this.pool, jobId))) return 'expired';
      throw err;
    }
    if (!ending) return 'live';
    await this.appendEnd(jobId, ending);
    return 'ended';
  }

  /** The events after `after` (at most `limit`), `next` to ask for after them, and whether the log is complete. */
  async page(jobId: string, after: number, limit: number): Promise<EventPage> {
    const state = await this.open(jobId);
    const events = await listJobEvents(this.pool, jobId, after, limit);
    const next = events.at(-1)?.seq ?? after;
    if (state === 'expired') return { jobId, events, next, done: events.length < limit };
    const endSeq = await endEventSeq(this.pool, jobId);
    return { jobId, events, next, done: endSeq !== undefined && next >= endSeq };
  }

  /** The seq of the job's `end` event, or undefined while its log has none. */
  async endSeq(jobId: string): Promise<number | undefined> {
    return endEventSeq(this.pool, jobId);
  }

  /** Opens the process's LISTEN connection if it is not open (a stream needs it before it replays). */
  async listen(): Promise<void> {
    await this.listener();
  }

  /**
   * Subscribes to the job's events after `after`: the stored ones first, then each new one as it is appended.
   * `watch` (a live job) has the hub append the `end` event when Temporal reports the job closed. The sink is called
   * synchronously with each batch; `onHubClose` when the hub closes.
   */
  async subscribe(
    jobId: string,
    after: number,
    sink: EventSink,
    options: { watch: boolean; onHubClose: () => void },
  ): Promise<Subscription> {
    await this.listener();
    let feed = this.feeds.get(jobId);
    if (!feed) {
      feed = { subs: new Set(), pulling: false, again: false };
      this.feeds.set(jobId, feed);
    }
    const sub: Subscriber = { cursor: after, sink, onHubClose: options.onHubClose };
    feed.subs.add(sub);
    if (options.watch && !feed.watch) {
      feed.watch = new AbortController();
      void this.watch(jobId, feed.watch.signal);
    }
    void this.pull(jobId, feed);
    return { close: () => this.unsubscribe(jobId, feed, sub) };
  }

  /** Subscribers connected in this process, over all jobs. */
  subscriberCount(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.subs.size;
    return n;
  }

  /** Ends every subscription (their streams close) and releases the LISTEN connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [jobId, feed] of [...this.feeds]) {
      for (const sub of [...feed.subs]) {
        this.unsubscribe(jobId, feed, sub);
        sub.onHubClose();
      }
    }
    const listening = this.listening;
    this.listening = undefined;
    await listening?.catch(() => undefined);
    this.detach?.();
  }

  private unsubscribe(jobId: string, feed: Feed, sub: Subscriber): void {
    feed.subs.delete(sub);
    if (feed.subs.size === 0 && this.feeds.get(jobId) === feed) {
      feed.watch?.abort();
      this.feeds.delete(jobId);
    }
  }

  /**
   * Appends the `end` event, its `at` Temporal's close time (the API may notice the close much later); in one
   * transaction, so that no reader sees the event with another time.
   */
  private async appendEnd(jobId: string, ending: JobEnding): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const appended = await appendJobEvent(client, { jobId, type: 'end', data: { ...ending.end }, key: 'end' });
      if (appended?.inserted && ending.closedAt) await setJobEventTime(client, jobId, appended.seq, ending.closedAt);
    });
  }

  /**
   * Reads the events after the feed's lowest cursor and hands each subscriber those past its own. A subscriber that
   * joined during the read with a lower cursor gets nothing from it: joining asked for another pull, from its cursor.
   */
  private async pull(jobId: string, feed: Feed): Promise<void> {
    if (feed.pulling) {
      feed.again = true;
      return;
    }
    feed.pulling = true;
    let failed = false;
    try {
      do {
        feed.again = false;
        if (feed.subs.size === 0) break;
        let from = Infinity;
        for (const sub of feed.subs) from = Math.min(from, sub.cursor);
        const events = await listJobEvents(this.pool, jobId, from, EVENT_PAGE);
        if (events.length === EVENT_PAGE) feed.again = true;
        for (const sub of [...feed.subs]) {
          if (sub.cursor < from || !feed.subs.has(sub) || events.length === 0) continue;
          // Subscribers level with the read get the same array (the stream serialises it once for all of them).
          const fresh = events[0].seq > sub.cursor ? events : events.filter((e) => e.seq > sub.cursor);
          if (fresh.length === 0) continue;
          sub.cursor = fresh[fresh.length - 1].seq;
          sub.sink(fresh);
        }
      } while (feed.again);
    } catch (err) {
      failed = true;
      this.log.warn({ err, jobId }, `reading job events failed; retrying in ${RETRY_MS} ms`);
    } finally {
      feed.pulling = false;
    }
    if (failed && !this.closed && this.feeds.get(jobId) === feed) {
      await sleep(RETRY_MS);
      void this.pull(jobId, feed);
    }
  }

  /** Until aborted: wait for the job to close (long poll), then append its `end` event; Temporal errors wait and retry. */
  private async watch(jobId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      // A signal per wait: the Temporal client adds an abort listener per call it makes under one and never removes it.
      const round = new AbortController();
      const stop = () => round.abort();
      signal.addEventListener('abort', stop, { once: true });
      try {
        await this.jobs.waitForClose(jobId, WATCH_MS, round.signal);
      } finally {
        signal.removeEventListener('abort', stop);
      }
      if (signal.aborted) return;
      try {
        const ending = await this.jobs.ending(jobId);
        if (ending) {
          await this.appendEnd(jobId, ending);
          return;
        }
      } catch (err) {
        this.log.warn({ err, jobId }, 'watching a job for its end failed; retrying');
      }
      // Never a tight loop, whatever the long poll does when Temporal is down.
      await sleep(Math.max(0, RETRY_MS - (Date.now() - started)), signal);
    }
  }

  private listener(): Promise<PoolClient> {
    if (this.closed) return Promise.reject(new Error('the job event hub is closed'));
    this.listening ??= this.connect().catch((err: unknown) => {
      this.listening = undefined;
      throw err;
    });
    return this.listening;
  }

  private async connect(): Promise<PoolClient> {
    const client = await this.pool.connect();
    let lost = false;
    // The connection is only ever closed, never returned to the pool: it holds a LISTEN.
    this.detach = () => {
      if (lost) return;
      lost = true;
      client.release(true);
    };
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      client.release(err ?? true);
      void this.reconnect(client, err);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg: Notification) => this.notified(msg));
    try {
      await client.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
    } catch (err) {
      lost = true;
      client.release(err as Error);
      throw err;
    }
    return client;
  }

  /**
   * After the LISTEN connection is lost: listen again (when anyone is subscribed) and pull every feed, since
   * notifications sent meanwhile are gone; retried every RETRY_MS while Postgres is away.
   */
  private async reconnect(lostClient: PoolClient, err: Error | undefined): Promise<void> {
    if (this.closed) return;
    this.log.warn({ err }, 'job events LISTEN connection lost');
    const current = await this.listening?.catch(() => undefined);
    if (current === lostClient) this.listening = undefined;
    while (!this.closed && this.feeds.size > 0) {
      try {
        await this.listener();
        for (const [jobId, feed] of this.feeds) void this.pull(jobId, feed);
        return;
      } catch (retryErr) {
        this.log.warn({ err: retryErr }, `job events LISTEN failed; retrying in ${RETRY_MS} ms`);
        await sleep(RETRY_MS);
      }
    }
  }

  private notified(msg: Notification): void {
    if (msg.channel !== JOB_EVENTS_CHANNEL || !msg.payload) return;
    let jobId: unknown;
    try {
      jobId = (JSON.parse(msg.payload) as { jobId?: unknown }).jobId;
    } catch {
      return;
    }
    const feed = typeof jobId === 'string' ? this.feeds.get(jobId) : undefined;
    if (feed) void this.pull(jobId as string, feed);
  }
}
