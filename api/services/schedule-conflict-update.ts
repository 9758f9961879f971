import { randomUUID } from 'node:crypto';
import type { Client, ScheduleDescription, ScheduleUpdateOptions } from '@temporalio/client';
import {
  compileUpdatedScheduleOptions,
  encodeScheduleAction,
  encodeSchedulePolicies,
  encodeScheduleSpec,
  encodeScheduleState,
} from '@temporalio/client/lib/schedule-helpers';
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';

/**
 * A schedule update that Temporal applies only if nothing changed the schedule since `current` was read: the request
 * carries `current`'s conflict token, which every change to the schedule (an update, a pause, a run that counts down
 * remainingRuns) advances. The TypeScript SDK's `handle.update` sends none, so a concurrent change between its read
 * and its write is overwritten; this sends what `handle.update` would, plus the token (the SDK's own encoders).
 *
 * Temporal's scheduler drops a stale update without an error (the RPC succeeds; the scheduler logs "Update conflicted
 * with concurrent change"): the caller must read the schedule again to know whether its update landed. Throws what the
 * Temporal client throws: a gRPC error with code NOT_FOUND for a schedule that is gone, INVALID_ARGUMENT for a spec
 * Temporal refuses.
 */
export async function updateScheduleIfUnchanged(
  client: Client,
  namespace: string,
  current: ScheduleDescription,
  updated: ScheduleUpdateOptions,
): Promise<void> {
  const options = compileUpdatedScheduleOptions(current.scheduleId, updated);
  // The SDK keeps the action's existing headers on update; so does this.
  const headers = current.raw.schedule?.action?.startWorkflow?.header?.fields ?? {};
  await client.workflowService.updateSchedule({
    namespace,
    scheduleId: current.scheduleId,
    schedule: {
      spec: encodeScheduleSpec(options.spec),
      action: await encodeScheduleAction(
        client.schedule.options.loadedDataConverter,
        namespace,
        options.action,
        headers,
      ),
      policies: encodeSchedulePolicies(options.policies),
      state: encodeScheduleState(options.state),
    },
    conflictToken: current.raw.conflictToken,
    identity: client.options.identity,
    requestId: randomUUID(),
    ...(options.searchAttributes || options.typedSearchAttributes
      ? {
          searchAttributes: {
            indexedFields: encodeUnifiedSearchAttributes(options.searchAttributes, options.typedSearchAttributes),
          },
        }
      : {}),
  });
}
