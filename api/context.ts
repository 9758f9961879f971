import { Client } from '@temporalio/client';
import { Pool } from 'pg';
import type { Logger } from '../common/logger';
import { DatasetLimits } from '../datasets/limits';
import { ApiMetrics } from './metrics';
import { JobService } from './services/jobs';

/** What the routers need, handed in by createApp (tests build it from their own servers). */
export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  jobs: JobService;
  metrics: ApiMetrics;
  limits: DatasetLimits;
  /** Where operators watch jobs (links in responses); absent when unknown. */
  temporalUiUrl?: string;
  namespace: string;
  /** Seconds an `any` job waits for a GPU worker before the CPU pool runs it (KILN_GPU_FALLBACK_SECONDS). */
  gpuFallbackSeconds: number;
  /** The API's logger; each request logs through a child carrying its request id. Default: the process's logger. */
  log?: Logger;
}
