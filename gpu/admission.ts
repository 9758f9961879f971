/**
 * Admission by GPU memory for one device (one GPU worker process).
 *
 * Two parts share this object:
 *
 * - A Temporal `CustomSlotSupplier` for the worker's activity slots (`slotSupplier()`). The SDK reserves a slot
 *   *before* it polls, so the supplier cannot see the job it will get. It decides whether the worker may take another
 *   task at all: only while fewer than `maxConcurrent` slots are out, no job is waiting for memory on this device, some
 *   memory is free, and no other poll on the same task queue already holds an unused slot. So a device that cannot
 *   start its next job stops taking tasks (they stay on the shared queue for another device), and it takes at most
 *   one task per queue beyond what it is running before it learns that task's size.
 * - A device-memory budget (`admit`), taken by a compute activity as its first step with the job's memory need
 *   (requested or estimated) and given back when the activity ends, whatever the outcome.
 *
 * Rule against starvation: admission is first come, first served in the order the worker took the tasks. A job that
 * does not fit waits at the head; no later job is admitted before it (even one that would fit), and the slot supplier
 * takes no new task while it waits. A waiting job is therefore admitted as soon as the jobs that were running when it
 * arrived have released enough memory: its wait is bounded by their remaining run time, never by later arrivals.
 */
import type {
  ActivitySlotInfo,
  CustomSlotSupplier,
  SlotPermit,
  SlotReleaseContext,
  SlotReserveContext,
} from '@temporalio/worker';

export interface DeviceAdmissionOptions {
  /** The device memory jobs may reserve in total (MiB). */
  budgetMb: number;
  /** Activities (compute or not) that may run at once on this device. */
  maxConcurrent: number;
  /** A clock for the admission timestamps (tests). */
  now?: () => number;
}

/** A job's hold on device memory; release is idempotent. */
export interface MemoryReservation {
  readonly memoryMb: number;
  /** Epoch ms when the job was admitted. */
  readonly admittedAt: number;
  readonly waitedMs: number;
  release(): void;
}

export interface AdmissionStats {
  budgetMb: number;
  reservedMb: number;
  /** Jobs holding memory. */
  running: number;
  /** Jobs waiting for memory on this device (taken from the queue, not yet admitted). */
  waiting: number;
  maxConcurrent: number;
  /** Slots in use by an activity (compute or not). */
  slotsUsed: number;
  /** maxConcurrent minus slots used. */
  slotsFree: number;
}

/** The job can never fit on this device: its need is above the whole budget. */
export class ExceedsDeviceBudgetError extends Error {
  constructor(
    readonly memoryMb: number,
    readonly budgetMb: number,
  ) {
    super(`the job needs ${memoryMb} MiB of GPU memory; this device's budget is ${budgetMb} MiB`);
    this.name = 'ExceedsDeviceBudgetError';
  }
}

interface Waiter {
  memoryMb: number;
  enqueuedAt: number;
  resolve: (reservation: MemoryReservation) => void;
  reject: (reason: unknown) => void;
}

interface Permit extends SlotPermit {
  readonly id: number;
  readonly taskQueue: string;
  used: boolean;
}

export class DeviceAdmission {
  readonly budgetMb: number;
  readonly maxConcurrent: number;
  private readonly now: () => number;
  private reservedMb = 0;
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private nextPermitId = 1;
  private readonly permits = new Set<Permit>();
  /** reserveSlot calls waiting for a permit; each re-checks on every change. */
  private readonly slotWaiters = new Set<() => void>();
  private readonly listeners = new Set<(event: AdmissionEvent) => void>();

  constructor(options: DeviceAdmissionOptions) {
    if (!(Number.isInteger(options.budgetMb) && options.budgetMb > 0))
      throw new RangeError(`budgetMb must be a positive integer, got ${options.budgetMb}`);
    if (!(Number.isInteger(options.maxConcurrent) && options.maxConcurrent > 0)) {
      throw new RangeError(`maxConcurrent must be a positive integer, got ${options.maxConcurrent}`);
    }
    this.budgetMb = options.budgetMb;
    this.maxConcurrent = options.maxConcurrent;
    this.now = options.now ?? Date.now;
  }

  /**
   * Reserves `memoryMb` of the budget, waiting first come, first served until it fits. Rejects at once with
   * ExceedsDeviceBudgetError when it never could, and with the signal's reason when the signal aborts while waiting.
   */
  admit(memoryMb: number, signal?: AbortSignal): Promise<MemoryReservation> {
    if (!(Number.isFinite(memoryMb) && memoryMb >= 0))
      return Promise.reject(new RangeError(`memoryMb must be a non-negative number, got ${memoryMb}`));
    const need = Math.ceil(memoryMb);
    if (need > this.budgetMb) return Promise.reject(new ExceedsDeviceBudgetError(need, this.budgetMb));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const enqueuedAt = this.now();
    if (this.waiters.length === 0 && this.reservedMb + need <= this.budgetMb)
      return Promise.resolve(this.grant(need, enqueuedAt, enqueuedAt));
    return new Promise<MemoryReservation>((resolve, reject) => {
      const waiter: Waiter = { memoryMb: need, enqueuedAt, resolve, reject };
      this.waiters.push(waiter);
      this.emit({ type: 'waiting', memoryMb: need, position: this.waiters.length });
      this.changed();
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.waiters.indexOf(waiter);
          if (index < 0) return;
          this.waiters.splice(index, 1);
          reject(signal.reason);
          // The head may have left: whoever is next may fit now, and the supplier may take tasks again.
          this.drain();
          this.changed();
        },
        { once: true },
      );
    });
  }

  stats(): AdmissionStats {
    const slotsUsed = [...this.permits].filter((p) => p.used).length;
    return {
      budgetMb: this.budgetMb,
      reservedMb: this.reservedMb,
      running: this.running,
      waiting: this.waiters.length,
      maxConcurrent: this.maxConcurrent,
      slotsUsed,
      slotsFree: Math.max(0, this.maxConcurrent - slotsUsed),
    };
  }

  /** Admission events (for metrics): a job admitted after waiting waitedMs, or queued behind others. */
  onEvent(listener: (event: AdmissionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The activity slot supplier for every Worker of this device (they share the slots and the budget). */
  slotSupplier(): CustomSlotSupplier<ActivitySlotInfo> {
    return {
      type: 'custom',
      reserveSlot: (ctx: SlotReserveContext, abortSignal: AbortSignal) => this.reserveSlot(ctx.taskQueue, abortSignal),
      tryReserveSlot: (ctx: SlotReserveContext) =>
        this.maySupplySlot(ctx.taskQueue) ? this.issuePermit(ctx.taskQueue) : null,
      markSlotUsed: (ctx) => {
        (ctx.permit as Permit).used = true;
        this.changed();
      },
      releaseSlot: (ctx: SlotReleaseContext<ActivitySlotInfo>) => {
        this.permits.delete(ctx.permit as Permit);
        this.changed();
      },
    };
  }

  /** Reserves for a job; one admitted on arrival has waited 0 ms by definition. */
  private grant(memoryMb: number, enqueuedAt: number, admittedAt = this.now()): MemoryReservation {
    this.reservedMb += memoryMb;
    this.running += 1;
    const waitedMs = admittedAt - enqueuedAt;
    let released = false;
    this.emit({ type: 'admitted', memoryMb, waitedMs });
    return {
      memoryMb,
      admittedAt,
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        this.reservedMb -= memoryMb;
        this.running -= 1;
        this.drain();
        this.changed();
      },
    };
  }

  /** Admits waiters from the head while the head fits; never skips the head (the no-starvation rule). */
  private drain(): void {
    while (this.waiters.length > 0 && this.reservedMb + this.waiters[0].memoryMb <= this.budgetMb) {
      const head = this.waiters.shift()!;
      head.resolve(this.grant(head.memoryMb, head.enqueuedAt));
    }
  }

  private maySupplySlot(taskQueue: string): boolean {
    if (this.permits.size >= this.maxConcurrent) return false;
    if (this.waiters.length > 0) return false;
    if (this.reservedMb >= this.budgetMb) return false;
    for (const p of this.permits) if (!p.used && p.taskQueue === taskQueue) return false;
    return true;
  }

  private issuePermit(taskQueue: string): Permit {
    const permit: Permit = { id: this.nextPermitId++, taskQueue, used: false };
    this.permits.add(permit);
    return permit;
  }

  private reserveSlot(taskQueue: string, abortSignal: AbortSignal): Promise<SlotPermit> {
    if (this.maySupplySlot(taskQueue)) return Promise.resolve(this.issuePermit(taskQueue));
    return new Promise<SlotPermit>((resolve, reject) => {
      const check = () => {
        if (!this.maySupplySlot(taskQueue)) return;
        this.slotWaiters.delete(check);
        abortSignal.removeEventListener('abort', onAbort);
        resolve(this.issuePermit(taskQueue));
      };
      const onAbort = () => {
        this.slotWaiters.delete(check);
        reject(abortSignal.reason);
      };
      if (abortSignal.aborted) return reject(abortSignal.reason);
      abortSignal.addEventListener('abort', onAbort, { once: true });
      this.slotWaiters.add(check);
    });
  }

  /** Something that decides slot supply changed: let waiting reservations re-check. */
  private changed(): void {
    for (const check of [...this.slotWaiters]) check();
  }

  private emit(event: AdmissionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

export type AdmissionEvent =
  { type: 'admitted'; memoryMb: number; waitedMs: number } | { type: 'waiting'; memoryMb: number; position: number };
