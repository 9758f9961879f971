import type { Pool } from 'pg';
import { TooManyRequestsError } from '../../common/errors';
import { tenantMaxRunningJobs } from '../../db/tenant-job-limit';
import type { JobService } from './jobs';
import AsyncLock from 'async-lock';

/** What the per-tenant running-job cap reads. */
export interface TenantJobLimitDeps {
  pool: Pick<Pool, 'query'>;
  /** The process's JobService: its starts not yet visible are remembered per instance (one per API process). */
  jobs: Pick<JobService, 'countRunning' | 'statusOf' | 'visibleAmong'>;
  /** The cap of a tenant whose `tenants.max_running_jobs` is NULL (KILN_MAX_RUNNING_JOBS_PER_TENANT). */
  maxRunningJobsPerTenant: number;
}

/**
 * Seconds a refused submission is told to wait (Retry-After): jobs take seconds to hours, so this is a polling
 * interval for a client that queues on its side, not a promise that a slot frees by then.
 */
export const TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS = 30;

/**
 * How long a reservation counts at most (ms) when the visibility store never lists its job: by then visibility
 * (about a second behind on the dev server and on Elasticsearch) shows it, or the start never happened.
 */
export const RESERVATION_MAX_AGE_MS = 30_000;

/** Places under a tenant's cap, held from the check until visibility counts their jobs (or they are given back). */
export interface TenantJobSlot {
  /** Gives the places back: the start failed, or found an earlier start's job (nothing new runs). Idempotent. */
  release(): void;
  /**
   * The one job the place was reserved for turned out to be `jobId` (a schedule's triggered run, which Temporal names
   * only once it starts it): the reservation stops counting once visibility lists that job rather than at
   * RESERVATION_MAX_AGE_MS. Only for a slot of one place.
   */
  startedAs(jobId: string): void;
}

interface Reservation {
  jobId: string;
  /** Date.now() when it was made. */
  at: number;
}

/** One process's view of its own recent starts: per tenant, the reservations visibility may not list yet. */
interface StartLedger {
  /** Serializes each tenant's checks, so two never read the same count (no bound on waiters: each waits briefly). */
  queue: AsyncLock;
  reservations: Map<string, Set<Reservation>>;
  /** Per tenant, how often reservations were dropped as visible: a count read before a drop may miss those jobs. */
  drops: Map<string, number>;
}

/** Keyed by the JobService the API process builds once: a second API in the same process (tests) has its own. */
const ledgers = new WeakMap<object, StartLedger>();

function ledgerOf(jobs: object): StartLedger {
  let ledger = ledgers.get(jobs);
  if (!ledger) {
    ledger = { queue: new AsyncLock({ maxPending: Infinity }), reservations: new Map(), drops: new Map() };
    ledgers.set(jobs, ledger);
  }
  return ledger;
}

const NO_SLOT: TenantJobSlot = { release: () => undefined, startedAs: () => undefined };

/**
 * Reserves a place for job `jobId` under its tenant's cap on running jobs, or refuses it: TooManyRequestsError (429,
 * code `tenant_job_limit`, Retry-After TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS). The cap is `tenants.max_running_jobs`,
 * else `maxRunningJobsPerTenant`.
 *
 * The jobs counted are JobService.countRunning (visibility, which lags about a second) plus the reservations this
 * process made whose jobs visibility does not list yet (JobService.visibleAmong; a reservation counts at most
 * RESERVATION_MAX_AGE_MS). A tenant's checks run one at a time in this process (async-lock), each recording its
 * reservation before the next reads, so a burst into one process never passes the cap. Only when the quick sum
 * (visible + every reservation, which may count a job twice) reaches the cap does it ask visibility which reserved
 * jobs it lists and count again. Across API replicas each sees the others' starts only through visibility: a burst
 * spread over N replicas within the lag can pass the cap by up to (N − 1) × the places free when it began.
 *
 * `idempotent`: `jobId` comes from an Idempotency-Key; when the tenant is at its cap and the job already exists (a
 * replay) nothing new would start, so it passes without a place. The caller releases the slot when its start throws
 * or turns out to be a replay.
 */
export async function reserveTenantJobSlot(
  deps: TenantJobLimitDeps,
  tenantId: string,
  jobId: string,
  idempotent = false,
): Promise<TenantJobSlot> {
  return reserve(deps, tenantId, [jobId], async (running, max) => {
    if (idempotent && (await deps.jobs.statusOf(jobId)) !== undefined) return NO_SLOT;
    throw new TooManyRequestsError(
      `tenant ${tenantId} runs ${running} jobs, its limit is ${max}; submit again when one has ended`,
      TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS,
      'tenant_job_limit',
    );
  });
}

/**
 * Reserves `jobIds.length` places at once (a schedule's backfill, whose runs Temporal starts together), one per job
 * id they will start under, all or none, as reserveTenantJobSlot reserves one (same queue, same count): a later check
 * sees them all. TooManyRequestsError (429 `tenant_job_limit`, Retry-After) naming how many places are free when fewer
 * than that are; `what` says in it what needs them ("this backfill may start 8 runs at once"). `jobIds` must not be
 * empty.
 */
export async function reserveTenantJobSlots(
  deps: TenantJobLimitDeps,
  tenantId: string,
  jobIds: readonly string[],
  what: string,
): Promise<TenantJobSlot> {
  return reserve(deps, tenantId, jobIds, (running, max) => {
    const free = Math.max(0, max - running);
    throw new TooManyRequestsError(
      `tenant ${tenantId} runs ${running} jobs, its limit is ${max}: ${free} free, and ${what}; ` +
        'try again when enough have ended, or start fewer at once',
      TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS,
      'tenant_job_limit',
    );
  });
}

/** The check both forms share: a place for each of `jobIds`, else `refuse(running, max)` (in the tenant's queue). */
async function reserve(
  deps: TenantJobLimitDeps,
  tenantId: string,
  jobIds: readonly string[],
  refuse: (running: number, max: number) => Promise<TenantJobSlot>,
): Promise<TenantJobSlot> {
  const ledger = ledgerOf(deps.jobs);
  // Read before taking the tenant's turn, concurrently with the other waiters: with Temporal away, a burst of starts
  // each fails within one RPC deadline instead of one deadline after another. A count read before the turn does not
  // include the jobs reserved meanwhile, which `mine` adds; only a drop of reservations (their jobs became visible)
  // after this read could make it miss a job, and then it is read again inside the turn.
  const dropsBefore = ledger.drops.get(tenantId) ?? 0;
  const [own, visibleBefore] = await Promise.all([
    tenantMaxRunningJobs(deps.pool, tenantId),
    deps.jobs.countRunning(tenantId),
  ]);
  const max = own ?? deps.maxRunningJobsPerTenant;
  const need = jobIds.length;
  return ledger.queue.acquire(tenantId, async () => {
    const mine = ledger.reservations.get(tenantId) ?? new Set<Reservation>();
    const now = Date.now();
    for (const r of mine) if (now - r.at > RESERVATION_MAX_AGE_MS) mine.delete(r);
    const visible =
      (ledger.drops.get(tenantId) ?? 0) === dropsBefore ? visibleBefore : await deps.jobs.countRunning(tenantId);
    let running = visible + mine.size;
    if (running + need > max && mine.size > 0) {
      // Which reserved jobs visibility lists now: those it counts from here on (or, ended, no longer counts).
      const listed = await deps.jobs.visibleAmong([...mine].map((r) => r.jobId));
      for (const r of mine) if (listed.has(r.jobId)) mine.delete(r);
      if (listed.size > 0) ledger.drops.set(tenantId, (ledger.drops.get(tenantId) ?? 0) + 1);
      // Counted after the listing, so a job listed there is in this count too.
      running = (await deps.jobs.countRunning(tenantId)) + mine.size;
    }
    if (running + need <= max) {
      const reservations: Reservation[] = jobIds.map((jobId) => ({ jobId, at: now }));
      for (const r of reservations) mine.add(r);
      ledger.reservations.set(tenantId, mine);
      return {
        release() {
          for (const r of reservations) mine.delete(r);
          if (mine.size === 0 && ledger.reservations.get(tenantId) === mine) ledger.reservations.delete(tenantId);
        },
        startedAs(jobId: string) {
          if (reservations.length === 1) reservations[0].jobId = jobId;
        },
      };
    }
    if (mine.size === 0) ledger.reservations.delete(tenantId);
    return refuse(running, max);
  });
}
