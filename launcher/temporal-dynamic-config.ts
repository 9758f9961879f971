/**
 * Dynamic config for the Temporal dev server, in one place for the launcher, the test stack and docker-compose.yml.
 *
 * Why: the dev server runs ONE history shard, and each of its queue processors reads its tasks through a limiter of
 * `history.<queue>ProcessorMaxPollRPS`, 20 per second by default (go.temporal.io/server common/dynamicconfig
 * constants.go). The transfer queue hands every new workflow and activity task to matching, so after a short burst
 * every dispatch waits for that limiter: a one-activity workflow took ~20 ms for its first half-dozen runs, then
 * ~150 ms each (three dispatches of ~40-45 ms). A real cluster has hundreds of shards, each with its own limiter, so
 * it never bites there. The timer queue (activity timeouts, the `any` route's schedule-to-start fallback, sleeps),
 * the visibility queue (GET /api/v1/jobs reads visibility) and the outbound queue (Nexus, callbacks) have the same
 * limiter and the same fix. Archival is off in the dev server, so its limiter is left alone.
 *
 * `system.enableActivityEagerExecution` (off by default in the server): when a workflow task schedules an activity
 * on the workflow's own task queue and the completing worker has a free activity slot, the server hands the activity
 * task back in its answer to the workflow task's completion instead of through matching, one dispatch fewer for every
 * CPU-pool job that runs its compute as an activity (the SDK asks for it by default; a job routed to a GPU queue is
 * dispatched as before). The activity's history, timeouts and retries are the same either way.
 *
 * Priority and fairness (Kiln starts every job with `priority: { priorityKey, fairnessKey: <tenant> }`): the server's
 * default task matcher ignores both and hands out a task queue's backlog first in, first out, so one tenant's burst of
 * 40 jobs would run before another tenant's one. `matching.enableFairness` (off by default in server 1.29, the CLI
 * v1.5.1 dev server's; it implies `matching.useNewMatcher`, set too so a reader sees it) switches the queues to the
 * priority-and-fairness matcher: a lower priority key goes first, and among tasks of one priority the fairness keys
 * take turns (weighted, by default equally) instead of first in, first out. `matching.priorityLevels` is the server's
 * default, 5, written down because Kiln's `high`/`normal`/`low` are keys 1/3/5 (api/services/job-priority.ts).
 * The matcher orders tasks within one partition of a task queue, and a queue has 4 by default (they spread a busy queue
 * over a cluster's matching hosts): a poll lands on one partition and takes its best task, so a `high` job in another
 * partition waits behind `normal` ones (measured: a high activity 3rd of 32, low ones 9th and 19th). The dev server is
 * one host; one partition makes the order exact (test/integration/fairness.test.ts fails with the defaults).
 * A dev database that already holds queued tasks from before these settings keeps them where the server no longer
 * reads (the fair matcher reads its own task table, and partitions 2-4 are not polled): start that work again.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, number | boolean>> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'history.visibilityProcessorMaxPollRPS': 1000,
  'history.outboundProcessorMaxPollRPS': 1000,
  'system.enableActivityEagerExecution': true,
  'matching.useNewMatcher': true,
  'matching.enableFairness': true,
  'matching.priorityLevels': 5,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** `temporal server start-dev` flags for DEV_SERVER_DYNAMIC_CONFIG: `--dynamic-config-value key=value` each. */
export function dynamicConfigFlags(
  config: Readonly<Record<string, number | boolean>> = DEV_SERVER_DYNAMIC_CONFIG,
): string[] {
  return Object.entries(config).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${value}`]);
}
