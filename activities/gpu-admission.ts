import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Admission, Placement } from '../common/jobs';
import { DeviceAdmission, ExceedsDeviceBudgetError, MemoryReservation } from '../gpu/admission';

/** Error type when a job reaches a device too small for it (a stale routing decision); not retried on that device. */
export const EXCEEDS_DEVICE_MEMORY = 'ExceedsDeviceMemory';

/** How often a job waiting for device memory heartbeats (its heartbeat timeout is 20-30 s). */
const WAITING_HEARTBEAT_MS = 2_000;

/** A compute activity's hold on its device; on the CPU pool (no admission) it holds nothing. */
export interface DeviceHold {
  /** What the result records: the memory reserved, how long the job waited, when it ran. Undefined on the CPU pool. */
  record(): Admission | undefined;
  release(): void;
}

/** Where an activity ran: the worker's pool and device, the task queue it took the job from, and its admission. */
export function ranOn(placement: Omit<Placement, 'taskQueue' | 'admission'>, hold: DeviceHold): Placement {
  const admission = hold.record();
  return { ...placement, taskQueue: Context.current().info.taskQueue, ...(admission ? { admission } : {}) };
}

const NO_HOLD: DeviceHold = { record: () => undefined, release: () => undefined };

/**
 * Waits, first come first served, until the device can hold `memoryMb` more, heartbeating `progress` plus the wait
 * (training passes its last heartbeat, so a retry after a crash still finds its checkpoint). The caller releases the
 * hold in a `finally`.
 */
export async function holdDeviceMemory(
  admission: DeviceAdmission | undefined,
  memoryMb: number,
  progress: Record<string, unknown> = {},
): Promise<DeviceHold> {
  if (!admission) return NO_HOLD;
  const ctx = Context.current();
  const pending = admission.admit(memoryMb, ctx.cancellationSignal);
  let admitted = false;
  const beat = () => {
    if (admitted) return;
    const s = admission.stats();
    ctx.heartbeat({
      ...progress,
      stage: 'waiting-for-gpu-memory',
      state: 'waiting-for-gpu-memory',
      memoryMb,
      budgetMb: s.budgetMb,
      reservedMb: s.reservedMb,
      jobsWaiting: s.waiting,
    });
  };
  // Only a job that has to wait reports it; one admitted at once goes straight to its own progress.
  const first = setImmediate(beat);
  const timer = setInterval(beat, WAITING_HEARTBEAT_MS);
  let reservation: MemoryReservation;
  try {
    reservation = await pending;
  } catch (err) {
    if (err instanceof ExceedsDeviceBudgetError)
      throw ApplicationFailure.nonRetryable(err.message, EXCEEDS_DEVICE_MEMORY);
    throw err;
  } finally {
    admitted = true;
    clearImmediate(first);
    clearInterval(timer);
  }
  return {
    record: () => ({
      memoryMb: reservation.memoryMb,
      waitedMs: reservation.waitedMs,
      admittedAt: new Date(reservation.admittedAt).toISOString(),
      finishedAt: new Date().toISOString(),
    }),
    release: () => reservation.release(),
  };
}
