import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';

/** Tasks waiting in one task queue for a worker to take them (Temporal's approximate backlog counts). */
export interface QueueBacklog {
  workflowTasks: number;
  activityTasks: number;
}

/** The Temporal client and the namespace whose task queues are described. */
export interface TemporalNamespace {
  temporal: Client;
  namespace: string;
}

const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;

async function backlogOf(
  deps: TemporalNamespace,
  name: string,
  type: temporal.api.enums.v1.TaskQueueType,
): Promise<number> {
  const res = await deps.temporal.workflowService.describeTaskQueue({
    namespace: deps.namespace,
    taskQueue: { name, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: type,
    reportStats: true,
  });
  return Number(res.stats?.approximateBacklogCount ?? 0);
}

/**
 * The backlog of each queue, asked of Temporal in parallel; a queue Temporal cannot describe right now is null (the
 * status endpoint still answers from Postgres).
 */
export async function queueBacklogs(
  deps: TemporalNamespace,
  queues: string[],
): Promise<Record<string, QueueBacklog | null>> {
  const entries = await Promise.all(
    queues.map(async (name) => {
      // Both calls settle before the answer (no call of a finished request left retrying in the background).
      const [workflowTasks, activityTasks] = await Promise.allSettled([
        backlogOf(deps, name, TASK_QUEUE_TYPE_WORKFLOW),
        backlogOf(deps, name, TASK_QUEUE_TYPE_ACTIVITY),
      ]);
      if (workflowTasks.status === 'rejected' || activityTasks.status === 'rejected') return [name, null] as const;
      return [name, { workflowTasks: workflowTasks.value, activityTasks: activityTasks.value }] as const;
    }),
  );
  return Object.fromEntries(entries);
}
