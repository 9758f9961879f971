import type { RetryPolicy } from '@temporalio/workflow';

/**
 * How long Postgres or Temporal may be unavailable without a job being lost (README, "Outages"), in minutes. An
 * activity retried under ACTIVITY_RETRY keeps trying at least this long even when every attempt fails at once (a
 * refused connection: the worst case, since an attempt that hangs until its timeout spends more time per attempt).
 */
export const OUTAGE_TOLERANCE_MINUTES = 60;

/**
 * The retry policy of every Kiln activity (compute, registration, pipeline stages). The waits between attempts are
 * 1, 2, 4, 8 and 16 s, then 30 s each (Temporal: initialInterval × backoffCoefficient^(n−1), capped at
 * maximumInterval), so 126 attempts wait 31 s + 120 × 30 s = 3631 s ≥ OUTAGE_TOLERANCE_MINUTES between them
 * (test/faults/retry-policies.test.ts computes it). A Temporal outage costs an activity about one attempt (its
 * timeout fires once the server is back); a Postgres outage costs about two a minute.
 *
 * Bounded rather than unlimited so that an error no retry can cure, but which an activity failed to mark
 * non-retryable, still ends the job (after about an hour) instead of keeping it RUNNING forever. Errors known to be
 * permanent (bad input, non-finite results, divergence, missing data) are ApplicationFailure.nonRetryable in the
 * activities and fail the job on the first attempt.
 *
 * Changing it changes only new ScheduleActivityTask commands: retry policies are not part of replay's determinism
 * check (test/replay), so histories recorded under the earlier policies (5 or 10 attempts) still replay.
 */
export const ACTIVITY_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 126,
};
