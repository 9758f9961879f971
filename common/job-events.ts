/**
 * A job's event log (README: Live job events): the shapes activities append, Postgres stores (job_events) and the API
 * streams. Each event is `{seq, jobId, type, at, data}`: seq counts from 1 per job without gaps, `at` is ISO-8601.
 */

/** Every event type, in no particular order. */
export const JOB_EVENT_TYPES = [
  'status',
  'progress',
  'stage',
  'gate',
  'schedule-run',
  'warning',
  'resumed',
  'end',
] as const;

export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** How a job ended: the data of its `end` event's `status` (Temporal's close status, lower case). */
export const JOB_END_STATUSES = ['completed', 'failed', 'cancelled', 'terminated', 'timed_out'] as const;

export type JobEndStatus = (typeof JOB_END_STATUSES)[number];

/** The data of the terminal `end` event; `error` for a job that did not complete (its root cause, as GET /jobs/:id). */
export interface JobEnd {
  status: JobEndStatus;
  error?: { message: string; type?: string };
}

/**
 * A `progress` event's data. Training: one per epoch (`epoch`, `loss`, `valLoss`, `metrics` such as accuracy); the
 * other kinds report `phase` with `done`/`total` or their algorithm's own counters (iteration, inertia...).
 */
export interface ProgressData {
  phase?: string;
  done?: number;
  total?: number;
  iteration?: number;
  /** The activity attempt that reported it (from 1), on throttled progress (clustering): a retry starts over. */
  attempt?: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  valLoss?: number;
  metrics?: Record<string, number>;
  [key: string]: unknown;
}

/** One event as stored and served. */
export interface JobEvent {
  seq: number;
  jobId: string;
  type: JobEventType;
  /** ISO-8601 time the event was appended (Postgres clock_timestamp()). */
  at: string;
  data: Record<string, unknown>;
}

/** The Postgres channel new events are announced on; the payload is `{"jobId", "seq"}` (ids only, never data). */
export const JOB_EVENTS_CHANNEL = 'kiln_job_events';
