import type { JobEvent, JobEventType } from '../common/job-events';
import type { Queryable } from './pool';

/** An event to append: its idempotency key names it, so that a retried append finds it instead of adding one. */
export interface NewJobEvent {
  jobId: string;
  type: JobEventType;
  data: Record<string, unknown>;
  /**
   * Unique per job and deterministic for what the event reports (`progress:epoch:7`, `end`): a retried activity
   * appending the same thing gets the event its earlier attempt wrote.
   */
  key: string;
}

/** What an append did: `inserted` false when the key's event already existed (its seq and time are returned). */
export interface AppendedJobEvent {
  seq: number;
  at: string;
  inserted: boolean;
}

/**
 * Appends an event (migrations/0006_job_events.sql, kiln_append_job_event): the next seq of the job, gap-free and in
 * commit order, announced on JOB_EVENTS_CHANNEL when it commits. Returns undefined when the job already has its
 * `end` event: nothing is appended after it.
 */
export async function appendJobEvent(db: Queryable, event: NewJobEvent): Promise<AppendedJobEvent | undefined> {
  const { rows } = await db.query<{ seq: string; at: Date; inserted: boolean }>(
    'SELECT seq, at, inserted FROM kiln_append_job_event($1, $2, $3, $4)',
    [event.jobId, event.type, JSON.stringify(event.data), event.key],
  );
  const row = rows[0];
  return row ? { seq: Number(row.seq), at: row.at.toISOString(), inserted: row.inserted } : undefined;
}

/** Sets the time of the job's event `seq` (the `end` event's: when Temporal closed the job, not when it was seen). */
export async function setJobEventTime(db: Queryable, jobId: string, seq: number, at: Date): Promise<void> {
  await db.query('UPDATE job_events SET at = $3 WHERE job_id = $1 AND seq = $2', [jobId, seq, at]);
}

interface EventRow {
  seq: string;
  type: JobEventType;
  at: Date;
  data: Record<string, unknown>;
}

function toEvent(jobId: string, row: EventRow): JobEvent {
  return { seq: Number(row.seq), jobId, type: row.type, at: row.at.toISOString(), data: row.data };
}

/** The job's events with seq > `after`, in seq order, at most `limit` of them. */
export async function listJobEvents(db: Queryable, jobId: string, after: number, limit: number): Promise<JobEvent[]> {
  const { rows } = await db.query<EventRow>(
    'SELECT seq, type, at, data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [jobId, after, limit],
  );
  return rows.map((row) => toEvent(jobId, row));
}

/** The seq of the job's terminal `end` event, undefined while it has none. */
export async function endEventSeq(db: Queryable, jobId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ seq: string }>("SELECT seq FROM job_events WHERE job_id = $1 AND type = 'end'", [
    jobId,
  ]);
  return rows[0] ? Number(rows[0].seq) : undefined;
}

/** Whether the job has any event at all (a job Temporal no longer keeps may still have its log). */
export async function hasJobEvents(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM job_events WHERE job_id = $1 LIMIT 1', [jobId]);
  return (rowCount ?? 0) > 0;
}

/** The data of the job's per-epoch `progress` events (those with a numeric `epoch`), in seq order. */
export async function listEpochProgress(db: Queryable, jobId: string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await db.query<{ data: Record<string, unknown> }>(
    `SELECT data FROM job_events
      WHERE job_id = $1 AND type = 'progress' AND jsonb_typeof(data -> 'epoch') = 'number'
      ORDER BY seq`,
    [jobId],
  );
  return rows.map((row) => row.data);
}
