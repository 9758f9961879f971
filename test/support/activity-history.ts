import type { WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

const { EventType, TimeoutType } = temporal.api.enums.v1;

/**
 * A workflow's activity events as short lines, in history order, for assertions on what the server was asked to do:
 * `scheduled NAME@QUEUE scheduleToStart=Ns` (0s: no bound), `timed out SCHEDULE_TO_START`, `completed`, `failed`,
 * `canceled`, `cancel requested`. Started events are left out: the server writes them when the activity finishes
 * (after a retry, or never for one that did not start), so they say nothing about order here.
 */
export async function activityEvents(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  const lines: string[] = [];
  for (const event of history.events ?? []) {
    switch (event.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = event.activityTaskScheduledEventAttributes!;
        const bound = (optionalTsToMs(a.scheduleToStartTimeout) ?? 0) / 1000;
        lines.push(`scheduled ${a.activityType?.name}@${a.taskQueue?.name} scheduleToStart=${bound}s`);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        const type = event.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType;
        lines.push(`timed out ${TimeoutType[type ?? 0].replace('TIMEOUT_TYPE_', '')}`);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        lines.push('completed');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        lines.push('failed');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        lines.push('cancel requested');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        lines.push('canceled');
        break;
    }
  }
  return lines;
}
