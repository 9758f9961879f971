import type { TrainingAttempt } from '../../common/jobs';

/**
 * One attempt of a training job's activity as the API reports it: what the attempt recorded in its heartbeat
 * (`resumedFromEpoch`), or, for an attempt that left no heartbeat, only that it happened: `heartbeat: false` and, for
 * an attempt before the latest, `failedBeforeHeartbeat: true` (it ended before its first heartbeat: the dataset load,
 * waiting for GPU memory, a crash early on).
 */
export interface AttemptView {
  attempt: number;
  resumedFromEpoch?: number;
  heartbeat?: false;
  failedBeforeHeartbeat?: true;
}

/**
 * Every attempt from 1 to `latest` (Temporal's attempt count of the activity), taking each from `recorded` (the
 * heartbeat's or the result's list, which only holds attempts that got as far as their first heartbeat) where it is
 * there. An attempt number past `latest` in `recorded` is kept as recorded.
 */
export function completeAttempts(recorded: readonly TrainingAttempt[] | undefined, latest: number): AttemptView[] {
  const byNumber = new Map((recorded ?? []).map((a) => [a.attempt, a]));
  const last = Math.max(latest, ...byNumber.keys());
  const views: AttemptView[] = [];
  for (let attempt = 1; attempt <= last; attempt++) {
    const known = byNumber.get(attempt);
    if (known) views.push({ ...known });
    else views.push({ attempt, heartbeat: false, ...(attempt < latest ? { failedBeforeHeartbeat: true } : {}) });
  }
  return views;
}

/** A closed training job's summary with every attempt listed (completeAttempts up to the last one recorded). */
export function withAllAttempts<T extends { attempts?: TrainingAttempt[] }>(
  summary: T,
): Omit<T, 'attempts'> & { attempts?: AttemptView[] } {
  if (!Array.isArray(summary.attempts) || summary.attempts.length === 0) return summary;
  const last = Math.max(...summary.attempts.map((a) => a.attempt));
  return { ...summary, attempts: completeAttempts(summary.attempts, last) };
}
