/**
 * A job's Temporal priority: the API's words for it and the priority keys they stand for.
 *
 * Temporal dispatches a task queue's tasks by priority key first (1 before 2 ... before 5, the server's
 * `matching.priorityLevels`, launcher/temporal-dynamic-config.ts), then takes turns between fairness keys (Kiln's: the
 * job's tenant) within one key. `high`, `normal` and `low` are keys 1, 3 and 5, leaving 2 and 4 to the pipelines'
 * numeric `priority`, which the API has accepted since before the words.
 */
export const JOB_PRIORITIES = ['high', 'normal', 'low'] as const;

export type JobPriority = (typeof JOB_PRIORITIES)[number];

/** Priority keys by name; `normal` is also what a job without a priority gets (the middle of 1..5). */
export const PRIORITY_KEYS: Readonly<Record<JobPriority, number>> = { high: 1, normal: 3, low: 5 };

/** The priority key of a request's `priority`: a name, a key 1..5 as is (pipelines), absent = `normal` (3). */
export function priorityKeyOf(priority: JobPriority | number | undefined): number {
  if (priority === undefined) return PRIORITY_KEYS.normal;
  return typeof priority === 'number' ? priority : PRIORITY_KEYS[priority];
}
