import { expect } from 'chai';
import type { SlotPermit, SlotReserveContext } from '@temporalio/worker';
import { DeviceAdmission, ExceedsDeviceBudgetError, MemoryReservation } from '../../gpu/admission';

/** Resolves on the next turn of the event loop, after every pending promise callback. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { done: () => boolean; value: () => T | undefined; promise: Promise<T> } {
  let done = false;
  let value: T | undefined;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    () => {
      done = true;
    },
  );
  return { done: () => done, value: () => value, promise };
}

const reserveCtx = (taskQueue: string): SlotReserveContext =>
  ({
    slotType: 'activity',
    taskQueue,
    workerIdentity: 'test',
    workerBuildId: '',
    isSticky: false,
  }) as unknown as SlotReserveContext;

describe('DeviceAdmission: admission by GPU memory', () => {
  it('runs two 6 GB jobs on an 8 GB budget one after the other, and four 1 GB jobs together', async () => {
    const admission = new DeviceAdmission({ budgetMb: 8192, maxConcurrent: 8 });
    const first = await admission.admit(6144);
    const second = track(admission.admit(6144));
    await settle();
    expect(second.done(), 'the second 6 GB job waits').to.equal(false);
    expect(admission.stats()).to.include({ reservedMb: 6144, running: 1, waiting: 1 });
    first.release();
    await settle();
    expect(second.done(), 'admitted once the first released').to.equal(true);
    second.value()!.release();

    const small = await Promise.all([1024, 1024, 1024, 1024].map((mb) => admission.admit(mb)));
    expect(admission.stats()).to.include({ reservedMb: 4096, running: 4, waiting: 0 });
    small.forEach((r) => r.release());
    expect(admission.stats()).to.include({ reservedMb: 0, running: 0 });
  });

  it('admits first come, first served: a waiting large job is not passed by later small ones that would fit', async () => {
    const admission = new DeviceAdmission({ budgetMb: 8192, maxConcurrent: 8 });
    const running = await Promise.all([2048, 2048, 2048].map((mb) => admission.admit(mb)));
    const large = track(admission.admit(6144));
    const small = track(admission.admit(1024));
    await settle();
    expect(large.done()).to.equal(false);
    expect(small.done(), '1 GB would fit in the 2 GB free, but the 6 GB job is ahead of it').to.equal(false);
    running[0].release();
    await settle();
    expect(large.done(), '4 GB free: still not enough for 6 GB').to.equal(false);
    expect(small.done()).to.equal(false);
    running[1].release();
    await settle();
    expect(large.done(), '6 GB free: the head is admitted').to.equal(true);
    expect(small.done(), 'the 1 GB job still waits: 2048 + 6144 fill the budget').to.equal(false);
    running[2].release();
    await settle();
    expect(small.done()).to.equal(true);
    const order = [large.value()!, small.value()!];
    expect(order[0].admittedAt).to.be.at.most(order[1].admittedAt);
  });

  it('rejects a need above the whole budget at once, and a waiting job whose activity is cancelled leaves the line', async () => {
    const admission = new DeviceAdmission({ budgetMb: 8192, maxConcurrent: 4 });
    let error: unknown;
    await admission.admit(8193).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(ExceedsDeviceBudgetError);
    expect((error as Error).message).to.match(/8193 MiB.*8192 MiB/);

    const held = await admission.admit(8000);
    const controller = new AbortController();
    const cancelled = track(admission.admit(4000, controller.signal));
    const next = track(admission.admit(100));
    await settle();
    expect(admission.stats().waiting).to.equal(2);
    controller.abort(new Error('cancelled'));
    await settle();
    expect(cancelled.done()).to.equal(true);
    expect(next.done(), '100 MiB fits next to 8000 once the 4000 MiB job left the head').to.equal(true);
    expect(admission.stats()).to.include({ waiting: 0, reservedMb: 8100 });
    held.release();
    held.release(); // idempotent
    expect(admission.stats().reservedMb).to.equal(100);
  });

  it('reports how long a job waited', async () => {
    let now = 1_000;
    const admission = new DeviceAdmission({ budgetMb: 100, maxConcurrent: 2, now: () => now });
    const first = await admission.admit(100);
    const second = track(admission.admit(50));
    now = 1_750;
    first.release();
    await settle();
    const reservation = second.value() as MemoryReservation;
    expect(reservation).to.include({ memoryMb: 50, admittedAt: 1_750, waitedMs: 750 });
  });
});

describe('DeviceAdmission: the activity slot supplier', () => {
  it('hands out one unused slot per task queue, up to the concurrency, and none while a job waits for memory', async () => {
    const admission = new DeviceAdmission({ budgetMb: 8192, maxConcurrent: 3 });
    const supplier = admission.slotSupplier();
    const abort = new AbortController();
    const a1 = await supplier.reserveSlot(reserveCtx('kiln-gpu'), abort.signal);
    const b1 = await supplier.reserveSlot(reserveCtx('kiln-gpu-t4'), abort.signal);
    const a2 = track(supplier.reserveSlot(reserveCtx('kiln-gpu'), abort.signal));
    await settle();
    expect(a2.done(), 'kiln-gpu already has a poll holding an unused slot').to.equal(false);
    supplier.markSlotUsed({ slotInfo: { type: 'activity', activityType: 'runClustering' }, permit: a1 });
    await settle();
    expect(a2.done(), 'the first slot is used now: the queue may poll again').to.equal(true);
    expect(admission.stats()).to.include({ slotsUsed: 1, slotsFree: 2 });

    // Three slots are out (a1 used, b1 and a2 polling): the concurrency is reached.
    expect(supplier.tryReserveSlot(reserveCtx('kiln-gpu-t4-8192mb'))).to.equal(null);
    supplier.releaseSlot({ permit: b1 });
    expect(supplier.tryReserveSlot(reserveCtx('kiln-gpu-t4-8192mb'))).to.not.equal(null);

    // A job waiting for memory stops all slot supply, so this device takes no more tasks from shared queues.
    const other = new DeviceAdmission({ budgetMb: 1000, maxConcurrent: 8 });
    const otherSupplier = other.slotSupplier();
    const held = await other.admit(900);
    const waiting = track(other.admit(500));
    await settle();
    expect(otherSupplier.tryReserveSlot(reserveCtx('kiln-gpu'))).to.equal(null);
    const blocked = track(otherSupplier.reserveSlot(reserveCtx('kiln-gpu'), abort.signal));
    await settle();
    expect(blocked.done()).to.equal(false);
    held.release();
    await settle();
    expect(waiting.done()).to.equal(true);
    expect(blocked.done(), 'the waiter was admitted: slots flow again').to.equal(true);
    waiting.value()!.release();
  });

  it('rejects a pending reservation when the worker shuts down (abort signal)', async () => {
    const admission = new DeviceAdmission({ budgetMb: 100, maxConcurrent: 1 });
    const supplier = admission.slotSupplier();
    const abort = new AbortController();
    const permit: SlotPermit = await supplier.reserveSlot(reserveCtx('q'), abort.signal);
    const pending = track(supplier.reserveSlot(reserveCtx('q2'), abort.signal));
    abort.abort(new Error('shutdown'));
    await settle();
    expect(pending.done()).to.equal(true);
    expect(pending.value()).to.equal(undefined);
    supplier.releaseSlot({ permit });
    expect(admission.stats()).to.include({ slotsUsed: 0, slotsFree: 1 });
  });
});
