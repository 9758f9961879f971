import type { temporal } from '@temporalio/proto';
import { temporal as proto } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const T = proto.api.enums.v1.EventType;

/** A job's phases from its workflow history's event times (the server's clock, ms since the epoch). */
export interface HistoryPhases {
  /** WorkflowExecutionStarted. */
  startedAt: number;
  /** WorkflowExecutionCompleted (or the last event when the run has not closed). */
  closedAt: number;
  /**
   * Durations in ms, in history order:
   *   workflowTask<i>.queue    WorkflowTaskScheduled → WorkflowTaskStarted (the server handing the task to a worker)
   *   workflowTask<i>.run      WorkflowTaskStarted → WorkflowTaskCompleted (the worker's activation and its answer)
   *   activity<j>.queue        ActivityTaskScheduled → ActivityTaskStarted (dispatch to an activity worker)
   *   activity<j>.run          ActivityTaskStarted → ActivityTaskCompleted (the activity and its completion RPC)
   *   total                    WorkflowExecutionStarted → WorkflowExecutionCompleted
   * A local activity runs inside its workflow task's `run` and leaves only a MarkerRecorded event (counted in
   * `markers`, no duration of its own).
   */
  phases: Record<string, number>;
  markers: number;
}

function eventMs(event: HistoryEvent): number {
  const ts = event.eventTime;
  if (!ts) throw new Error(`history event ${event.eventId} has no time`);
  return Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}

const r = (ms: number) => Number(ms.toFixed(2));

/** The phases of one run's history (see HistoryPhases); throws on an event without a time. */
export function historyPhases(events: readonly HistoryEvent[]): HistoryPhases {
  const phases: Record<string, number> = {};
  let startedAt = NaN;
  let closedAt = NaN;
  let task = 0;
  let taskScheduled = NaN;
  let taskStarted = NaN;
  let activity = 0;
  let activityScheduled = NaN;
  let activityStarted = NaN;
  let markers = 0;
  for (const event of events) {
    const t = eventMs(event);
    switch (event.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        startedAt = t;
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        task++;
        taskScheduled = t;
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        phases[`workflowTask${task}.queue`] = r(t - taskScheduled);
        taskStarted = t;
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        phases[`workflowTask${task}.run`] = r(t - taskStarted);
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        activity++;
        activityScheduled = t;
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        phases[`activity${activity}.queue`] = r(t - activityScheduled);
        activityStarted = t;
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        phases[`activity${activity}.run`] = r(t - activityStarted);
        break;
      case T.EVENT_TYPE_MARKER_RECORDED:
        markers++;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        closedAt = t;
        break;
      default:
        break;
    }
  }
  if (Number.isNaN(closedAt) && events.length > 0) closedAt = eventMs(events[events.length - 1]);
  phases.total = r(closedAt - startedAt);
  return { startedAt, closedAt, phases, markers };
}
