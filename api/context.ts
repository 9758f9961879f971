import { Client } from '@temporalio/client';
import { Pool } from 'pg';
import type { Logger } from '../common/logger';
import { DatasetLimits } from '../datasets/limits';
import { BodyLimits } from '../common/body-limits';
import { TelemetryLimits } from '../common/telemetry-limits';
import type { BrowserPolicy, ProxyTrust } from '../common/config';
import type { PredictBatching } from '../common/predict-batching';
import type { SsoVerifier } from './auth/sso';
import type { BudgetSizes } from '../common/rate-limit-budgets';
import { ApiMetrics } from './metrics';
import { JobEventHub } from './services/job-event-hub';
import { JobService } from './services/jobs';

/**
 * What the routers need, handed in by createApp (tests build it from their own servers). Services never import it:
 * each declares the narrow dependencies it reads (submit-job.ts SubmitDeps, compute-placement, queue-backlog), which
 * ApiDeps satisfies.
 */
export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  jobs: JobService;
  metrics: ApiMetrics;
  /** Dataset limits; `maxBodyBytes` bounds every request body but a telemetry upload's (telemetryLimits). */
  limits: DatasetLimits;
  /** Byte limits of the JSON bodies that are not datasets (training, predict, batch predict, registry). */
  bodyLimits: BodyLimits;
  /** Bytes and rows of a GPU telemetry upload (KILN_MAX_TELEMETRY_BODY_BYTES, KILN_MAX_TELEMETRY_ROWS). */
  telemetryLimits: TelemetryLimits;
  /** Where operators watch jobs (links in responses); absent when unknown. */
  temporalUiUrl?: string;
  namespace: string;
  /** Seconds an `any` job waits for a GPU worker before the CPU pool runs it (KILN_GPU_FALLBACK_SECONDS). */
  gpuFallbackSeconds: number;
  /** Clustering inputs up to this many cells (points × columns) compute as a local activity (KILN_LOCAL_COMPUTE_MAX_CELLS). */
  localComputeMaxCells: number;
  /** The API's logger; each request logs through a child carrying its request id. Default: the process's logger. */
  log?: Logger;
  /** Host names the API answers to and origins allowed to call it from a browser (KILN_ALLOWED_HOSTS, KILN_CORS_ORIGINS). */
  browser: BrowserPolicy;
  /** The process's job event fan-out (one LISTEN connection); its owner closes it before the pool. */
  events: JobEventHub;
  /** Milliseconds between keep-alive comments on an event stream (default SSE_KEEP_ALIVE_MS, 15 s; tests shorten it). */
  sseKeepAliveMs?: number;
  /** Milliseconds between re-checks of an open event stream's credentials (default CREDENTIAL_RECHECK_MS; tests shorten it). */
  sseRecheckMs?: number;
  /** Micro-batching of online predict (KILN_PREDICT_BATCH_WINDOW_MS, KILN_PREDICT_MAX_BATCH_ROWS); default: theirs. */
  predictBatching?: PredictBatching;
  /** Event streams this process serves at once (KILN_MAX_SSE_CLIENTS); past it 503 with Retry-After. */
  maxSseClients: number;
  /** SSO bearer tokens (KILN_JWT_*: api/auth/sso.ts); absent: only API keys authenticate. */
  sso?: SsoVerifier;
  /** Jobs a tenant runs at once unless its row says otherwise (KILN_MAX_RUNNING_JOBS_PER_TENANT); default its default. */
  maxRunningJobsPerTenant?: number;
  /** Each caller's rate-limit budgets (KILN_RATE_LIMIT_*; a tenant may override them); default: DEFAULT_BUDGET_SIZES. */
  rateLimits?: BudgetSizes;
  /** Whether X-Forwarded-For / -Proto are believed (KILN_TRUST_PROXY, KILN_PROXY_HOPS); absent: they are ignored. */
  proxy?: ProxyTrust;
}
